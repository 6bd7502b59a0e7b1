"""Errors analysis raises on purpose, written for the analyst or officer who reads them."""

from __future__ import annotations


class AnalysisError(Exception):
    """Base of analysis's own errors."""


class CodebookError(AnalysisError):
    """A codebook file that cannot be used."""


class InputError(AnalysisError):
    """An input file or column that cannot be analysed."""
