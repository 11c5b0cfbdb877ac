import pytest

from rnnviz.corpus import LMCorpus, bundled_corpus, encode_corpus, load_text


@pytest.fixture(scope="session")
def alice_text() -> str:
    return load_text(bundled_corpus("alice.txt")).text


@pytest.fixture
def alice_small(alice_text) -> LMCorpus:
    vocab, ids = encode_corpus(alice_text[:60000], "char")
    return LMCorpus(ids, vocab, seq_len=32, batch_size=16)
