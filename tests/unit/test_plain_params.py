"""The commands' plain parameters are coerced as Typer's pydantic layer would, without it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from failover.commands.plain_params import install, plain_coerce

install()


def _app(seen: dict[str, object]) -> typer.Typer:
    app = typer.Typer()

    @app.command()
    def run(name: str,
            limit: Annotated[int | None, typer.Option(min=1)] = None,
            ratio: float = 0.5,
            config: Annotated[Path | None, typer.Option()] = None,
            tag: Annotated[list[str] | None, typer.Option()] = None,
            flag: bool = False) -> None:
        seen.update(name=name, limit=limit, ratio=ratio, config=config, tag=tag, flag=flag)

    return app


def test_values_are_coerced_to_their_types() -> None:
    seen: dict[str, object] = {}
    done = CliRunner().invoke(_app(seen), ["x", "--limit", " 3", "--ratio", "1e-1",
                                           "--config", "a/b.toml", "--tag", "p", "--tag", "q",
                                           "--flag"])
    assert done.exit_code == 0, done.output
    assert seen == {"name": "x", "limit": 3, "ratio": 0.1, "config": Path("a/b.toml"),
                    "tag": ["p", "q"], "flag": True}


def test_defaults_stay_defaults() -> None:
    seen: dict[str, object] = {}
    assert CliRunner().invoke(_app(seen), ["x"]).exit_code == 0
    assert seen == {"name": "x", "limit": None, "ratio": 0.5, "config": None, "tag": None,
                    "flag": False}


@pytest.mark.parametrize(("argv", "said"), [
    (["--limit", "x"], "Input should be a valid integer, unable to parse string as an integer"),
    (["--limit", "0"], "Input should be greater than or equal to 1"),
    (["--ratio", "half"], "Input should be a valid number, unable to parse string as a number"),
])
def test_bad_numbers_are_usage_errors_with_pydantics_words(argv: list[str], said: str) -> None:
    done = CliRunner().invoke(_app({}), ["x", *argv])
    assert done.exit_code == 2
    assert said in " ".join(done.output.replace("│", " ").split())


def test_words_read_as_booleans() -> None:
    assert [plain_coerce(bool, w, minimum=None) for w in ("yes", "0", "", "TRUE")] == \
        [True, False, False, True]
    with pytest.raises(ValueError, match="valid boolean"):
        plain_coerce(bool, "maybe", minimum=None)

