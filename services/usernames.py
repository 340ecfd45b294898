"""Usernames: the one place that decides when two spellings name the same person.

Sign-up, login, the login limiter and the admin command all go through `fold`, so `Alice`,
`alice`, ` ALICE ` and the full-width `Ａｌｉｃｅ` a Chinese input method types are one name
everywhere: one account, one login, one throttling counter. New names must also match
`ALLOWED` after folding (`canonical`); what is stored is the folded form.
"""

from __future__ import annotations

import re
import unicodedata

# What a new username may be once folded: 3 to 64 of a-z, 0-9, '_', '.', '-'. ASCII only, so
# no two names can look alike (Cyrillic 'а' against Latin 'a') and every one is easy to type.
ALLOWED = re.compile(r"[a-z0-9_.-]{3,64}")
ALLOWED_DESCRIPTION = "3 to 64 letters a-z, digits, '_', '.' or '-' (case does not matter)"
# The longest input looked at: a name can only shrink or stay its length when folded to ASCII.
MAX_INPUT_LENGTH = 64


class InvalidUsername(ValueError):
    pass


def fold(raw: str) -> str:
    """The comparison key: compatibility-normalised (NFKC), case-folded, trimmed.

    NFKC runs again after case folding because folding can leave a string that is no longer
    in NFKC; the result is then stable (fold(fold(x)) == fold(x))."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", raw).casefold()).strip()


def canonical(raw: str) -> str:
    """The stored spelling of a new username, or InvalidUsername saying what is allowed."""
    name = fold(raw)
    if not ALLOWED.fullmatch(name):
        raise InvalidUsername(f"a username is {ALLOWED_DESCRIPTION}")
    return name
