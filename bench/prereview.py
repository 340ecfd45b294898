"""`make bench-prereview`: the machine pre-review (rule B2) of a 100,000-character script.

The script is made up from a fixed seed: lines of ordinary Chinese ad copy, with a term of the
list every few hundred characters, some written to get past a filter (full width, spaces,
ideographic spaces, zero-width spaces between their characters). It is timed through
`services.prereview.Matcher.review` (what the API runs), and, as the baseline in the same run,
through the same code with the automaton replaced by a loop of `str.find` over the terms.
Both run in alternating rounds (ABBA), so that a machine's drift weighs on both alike, and
must find the same matches. Then the same with the list grown to 1,000 terms, as a list does
when it takes in a regulator's guidance.

`python -m bench.prereview --help` for the options. The figures are in docs/PERFORMANCE.md;
no test asserts them."""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import time
from collections.abc import Callable
from importlib import metadata

from services.prereview import (
    Exempt,
    Found,
    Matcher,
    PreReview,
    Term,
    TermList,
    load_terms,
)

CLEAN = (
    "这款酱油选用优质黄豆，古法酿造一百八十天",
    "炒菜、凉拌、红烧都合适，家里老人孩子都爱吃",
    "第一次打开瓶盖就能闻到浓浓的豆香",
    "每天一勺，简单的家常菜也能变得很有味道",
    "今天给大家分享三道快手菜，十分钟就能上桌",
    "瓶身设计防滑，倒的时候不会洒出来",
    "欢迎在评论区留言，说说你最喜欢的做法",
    "Soy sauce brewed for 180 days, no additives",
)
# A term written as it is, or as someone hiding it would write it.
DISGUISES: tuple[Callable[[str], str], ...] = (
    lambda term: term,
    lambda term: term.translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)}),  # full width
    lambda term: " ".join(term),
    lambda term: "\u3000".join(term),
    lambda term: "\u200b".join(term),
)


def script(length: int, terms: list[str], seed: int) -> str:
    """`length` characters of made-up copy, with a (disguised) term of `terms` in every other
    line (about one every 170 characters), if there are any."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < length:
        line = "，".join(rng.choice(CLEAN) for _ in range(rng.randint(2, 5))) + "。"
        if terms and rng.random() < 0.5:
            at = rng.randint(0, len(line) - 1)
            line = line[:at] + rng.choice(DISGUISES)(rng.choice(terms)) + line[at:]
        parts.append(line + "\n")
        size += len(line) + 1
    return "".join(parts)[:length]


class NaiveMatcher(Matcher):
    """The same pre-review, with the automaton replaced by one `str.find` loop per term."""

    def _found(self, read: str) -> list[Found]:
        found = []
        for entry in self._entries:
            at = read.find(entry.read)
            while at != -1:
                found.append((at, at + len(entry.read), entry))
                at = read.find(entry.read, at + 1)
        return found


def grown(terms: TermList, size: int, seed: int) -> TermList:
    """The list with made-up terms added up to `size`: two to four characters of the common
    CJK block, which the script's copy rarely holds, as most of a real list's terms are."""
    rng = random.Random(seed)
    known = {t.term for t in terms.terms} | {e.phrase for e in terms.exempt}
    extra: list[Term] = []
    while len(terms.terms) + len(extra) < size:
        word = "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(2, 4)))
        if word not in known:
            known.add(word)
            extra.append(Term(term=word, category="absolute", article="第九条第（三）项"))
    return TermList(version=f"{terms.version}+{size}", terms=[*terms.terms, *extra],
                    exempt=[Exempt(phrase=e.phrase) for e in terms.exempt])  # fmt: skip


def timed(review: Callable[[str], PreReview], text: str, runs: int) -> list[float]:
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        review(text)
        seconds.append(time.perf_counter() - start)
    return seconds


def compare(terms: TermList, text: str, rounds: int, runs: int) -> tuple[float, float, int]:
    """Median ms per review of ours and the baseline, in ABBA rounds, and the matches found."""
    ours, naive = Matcher(terms), NaiveMatcher(terms)
    found = ours.review(text)
    if naive.review(text) != found:
        raise SystemExit("the baseline finds other matches than the automaton: not comparable")
    sides: dict[str, list[float]] = {"ours": [], "naive": []}
    for round_ in range(rounds):
        order = [("ours", ours), ("naive", naive)]
        for name, matcher in order if round_ % 2 == 0 else reversed(order):
            sides[name] += timed(matcher.review, text, runs)
    return (
        statistics.median(sides["ours"]) * 1000,
        statistics.median(sides["naive"]) * 1000,
        len(found.matches),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chars", type=int, default=100_000, help="the script's length")
    parser.add_argument("--rounds", type=int, default=6, help="ABBA rounds per side")
    parser.add_argument("--runs", type=int, default=20, help="timed reviews per round")
    parser.add_argument("--grown", type=int, default=1_000, help="terms in the grown list")
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()

    print(f"cpu      {_cpu()}")
    versions = f"{platform.python_version()}, pyahocorasick {metadata.version('pyahocorasick')}"
    print(f"python   {versions}")
    start = time.perf_counter()
    terms = load_terms()
    Matcher(terms)
    print(f"build    {(time.perf_counter() - start) * 1000:.1f} ms (the list read and compiled, "
          "first in this process: with the folding tables)")  # fmt: skip
    texts = {
        "with terms": script(args.chars, [t.term for t in terms.terms], args.seed),
        "clean": script(args.chars, [], args.seed),
    }
    for label, text in texts.items():
        print(f"script   {label}: {len(text):,} characters ({len(text.encode()):,} bytes of "
              f"UTF-8), {text.count(chr(10)):,} lines")  # fmt: skip
    print(f"runs     {args.rounds} rounds x {args.runs} reviews per side, medians")
    for listed in (terms, grown(terms, args.grown, args.seed)):
        for label, text in texts.items():
            ours, naive, matches = compare(listed, text, args.rounds, args.runs)
            print(
                f"{len(listed.terms):,} terms, script {label}: {matches:,} matches; automaton "
                f"{ours:.2f} ms, str.find loop {naive:.2f} ms, ratio {naive / ours:.1f}"
            )


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
