"""Things named in both languages in the data files (checklists, log kinds, rounds)."""


class Bilingual:
    """Mixin for objects with `zh` and `en` names."""

    def label(self, lang):
        return self.en if lang == "en" else self.zh
