"""Starters for the real servers the tests and `make demo` use, all on 127.0.0.1."""
