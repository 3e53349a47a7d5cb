"""Whether two spellings of a name denote one person, compared as identity systems compare them:
Unicode compatibility forms, case and invisible characters do not make a second person, and
neither does a look-alike letter from another script (Unicode TS #39's confusable skeleton)."""

from agento._identity._names import COMPARISON, confusable, skeleton, visible

__all__ = ["COMPARISON", "confusable", "skeleton", "visible"]
