"""TextBlob's English sentiment (its PatternAnalyzer), without importing the textblob package.

`import textblob` imports NLTK, and NLTK imports scikit-learn and SciPy
whenever they are installed: about 125 MB of the service's memory for a
lexicon and a few hundred lines of pure Python that need none of them. This
loads TextBlob's own `_text.py` (standard library only) and its
`en/en-sentiment.xml` from where the package is installed, and builds the
analyser as `textblob/en/__init__.py` does (MIT licence, after pattern.en), so
the scores are TextBlob's to the last digit; tests/test_sentiment.py compares
them with `textblob.en.sentiment` so an upgrade of TextBlob cannot drift silently.

    >>> polarity("The staff were very helpful")
    0.2
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

NEGATIONS = ("no", "not", "n't", "never")


def polarity(text: str) -> float:
    """From -1.0 (negative) to 1.0 (positive), as `TextBlob(text).sentiment.polarity`."""
    score, _ = _analyser()(text)
    return float(score)


@cache
def _analyser() -> Any:
    root = _installed_textblob()
    pattern = _module_from(root / "_text.py")
    english = root / "en"
    lexicon = pattern.Lexicon(
        path=str(english / "en-lexicon.txt"),
        morphology=str(english / "en-morphology.txt"),
        context=str(english / "en-context.txt"),
        entities=str(english / "en-entities.txt"),
        language="en",
    )
    parser = pattern.Parser(lexicon=lexicon, default=("NN", "NNP", "CD"), language="en")
    return _with_adverbs(pattern.Sentiment)(
        path=str(english / "en-sentiment.xml"),
        synset="wordnet_id",
        negations=NEGATIONS,
        modifiers=("RB",),
        modifier=lambda word: word.endswith("ly"),
        tokenizer=parser.find_tokens,
        language="en",
    )


def _with_adverbs(base: Any) -> Any:
    """textblob.en's Sentiment: each adjective's adverb scored as the adjective ("terribly" as "terrible")."""

    class Sentiment(base):  # type: ignore[misc]
        def load(self, path: str | None = None) -> None:
            base.load(self, path)
            if path:
                return
            entries: list[tuple[str, dict[str, Any]]] = list(dict.items(self))
            for word, tags in entries:
                if "JJ" in tags:
                    stem = word[:-1] + "i" if word.endswith("y") else word
                    stem = stem[:-2] if stem.endswith("le") else stem
                    score, subjectivity, intensity = tags["JJ"]
                    self.annotate(stem + "ly", "RB", score, subjectivity, intensity)

    return Sentiment


def _installed_textblob() -> Path:
    """Where textblob is installed, found without importing it (and so NLTK)."""
    spec = importlib.util.find_spec("textblob")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("textblob is not installed; `make run` installs it")
    return Path(next(iter(spec.submodule_search_locations)))


def _module_from(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("chorus_textblob_pattern", path)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"textblob's {path.name} could not be read at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
