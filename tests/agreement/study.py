"""A synthetic coded study for benchmarks: several coders coding the same long texts, agreeing
often but not always, with boundaries that drift by a few characters as real coders' do."""

import random

CODERS = ("ana", "ben", "cai", "dee", "eli")


def synthetic_study(
    *, texts=200, length=30_000, coders=CODERS, codes=30, excerpts=40_000, seed=11
) -> list[tuple[int, int, list[tuple]]]:
    """[(text id, length, [(coder, code, start, end), ...]), ...] with about `excerpts` spans.
    Each text has "true" passages; each coder codes a passage with probability 0.7, moving each
    boundary by up to 15 characters and now and then choosing a neighbouring code."""
    rng = random.Random(seed)
    per_text = excerpts / texts
    passages = max(1, round(per_text / (0.7 * len(coders))))
    study = []
    for text in range(texts):
        spans = []
        for _ in range(passages):
            start = rng.randrange(0, length - 900)
            end = start + rng.randrange(40, 800)
            code = rng.randrange(codes)
            for coder in coders:
                if rng.random() >= 0.7:
                    continue
                s = max(0, start + rng.randint(-15, 15))
                e = min(length, max(s + 1, end + rng.randint(-15, 15)))
                chosen = code if rng.random() < 0.85 else (code + 1) % codes
                spans.append((coder, f"code-{chosen:02}", s, e))
        study.append((text, length, spans))
    return study
