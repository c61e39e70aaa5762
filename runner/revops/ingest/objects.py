"""Salesforce object types and the ``crm`` table each one lands in.

A type comes from ``attributes.type``, else the stream name (Singer/Airbyte), else ``--object``,
else the key prefix of the record's Id. Names match case-insensitively, ignoring ``_``, ``-``
and spaces, with plural and snake_case spellings (``Lead``, ``leads``, ``campaign_member``).
Types with no table (Contact, Case, custom objects) are counted as skipped, never as errors.
"""

from __future__ import annotations

import re
from functools import lru_cache

# object type -> crm table
TABLE_OF = {
    "User": "reps",
    "Account": "accounts",
    "Lead": "leads",
    "Opportunity": "opportunities",
    "Task": "activities",
    "Event": "activities",
    "CampaignMember": "interactions",
    "LeadHistory": "lead_status_history",
}

_ALIASES = {
    "user": "User",
    "users": "User",
    "rep": "User",
    "reps": "User",
    "account": "Account",
    "accounts": "Account",
    "lead": "Lead",
    "leads": "Lead",
    "opportunity": "Opportunity",
    "opportunities": "Opportunity",
    "task": "Task",
    "tasks": "Task",
    "event": "Event",
    "events": "Event",
    "campaignmember": "CampaignMember",
    "campaignmembers": "CampaignMember",
    "interaction": "CampaignMember",
    "interactions": "CampaignMember",
    "leadhistory": "LeadHistory",
    "leadhistories": "LeadHistory",
    "leadstatushistory": "LeadHistory",
}

# Standard key prefixes, used only when nothing else names the type.
_PREFIXES = {
    "005": "User",
    "001": "Account",
    "00Q": "Lead",
    "006": "Opportunity",
    "00T": "Task",
    "00U": "Event",
    "00v": "CampaignMember",
}

_SEPARATORS = re.compile(r"[\s_\-]+")


def canonical_type(name: object) -> str | None:
    """The canonical object name for a type/stream name; unknown names are returned trimmed."""
    if not isinstance(name, str):
        return None
    return _canonical(name)


@lru_cache(maxsize=1024)
def _canonical(name: str) -> str | None:
    if not name.strip():
        return None
    text = name.strip()
    key = _SEPARATORS.sub("", text).lower()
    if key in _ALIASES:
        return _ALIASES[key]
    # Singer/Airbyte streams are sometimes namespaced: "salesforce.Lead", "sf-leads".
    tail = re.split(r"[.:/]", text)[-1]
    tail_key = _SEPARATORS.sub("", tail).lower()
    return _ALIASES.get(tail_key, text)


def type_from_id(value: object) -> str | None:
    if isinstance(value, str) and len(value.strip()) in (15, 18):
        return _PREFIXES.get(value.strip()[:3])
    return None
