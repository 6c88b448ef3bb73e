"""The 数据利用协议 (data use agreement) an applicant accepts online before conditional data flows.

The text is built from the application, so what is accepted names the data, the purpose, the
scenario, the commitments and the term; the SM3 digest of its Chinese text is stored with the
acceptance, whatever language the page was read in.
"""

from __future__ import annotations

from typing import Protocol

from huiju.i18n import translations


class AgreedApplication(Protocol):
    id: int
    entry_title: str
    purpose: str
    scenario: str
    commitments: list[str]
    months: int


def agreement_text(app: AgreedApplication, *, version: str, locale: str = "zh_CN") -> str:
    """The agreement in ``locale``; the Chinese text is the one accepted and digested, English is a courtesy."""
    _ = translations(locale).gettext
    lines = [
        _("Data use agreement (version %(version)s), application No. %(id)s") % {"version": version, "id": app.id},
        "",
        _("Data: %(title)s") % {"title": app.entry_title},
        _("Purpose: %(purpose)s") % {"purpose": app.purpose},
        _("Scenario: %(scenario)s") % {"scenario": app.scenario},
        _("Term: %(months)s months from acceptance") % {"months": app.months},
        "",
        _("The user undertakes to:"),
        *[f"{n}. {c}" for n, c in enumerate(app.commitments, 1)],
        f"{len(app.commitments) + 1}. " + _("use the data only for the purpose and scenario above;"),
        f"{len(app.commitments) + 2}. " + _("not pass the data or the key to anyone else, nor try to re-identify "
                                            "any person or organisation;"),
        f"{len(app.commitments) + 3}. " + _("report how the data was used, and delete it when the term ends or "
                                            "access is revoked."),
        "",
        _("The providing department may revoke access at any time if these terms are broken. Every call "
          "made with the key is recorded."),
    ]
    return "\n".join(lines)
