"""The labels synthetic records draw from, in the proportions they appear (statuses and
their paths over time, lead sources with their messy spellings, stages, industries, ...)."""

from __future__ import annotations

from collections.abc import Sequence

OPEN, WORKING, QUALIFIED, UNQUALIFIED, CONVERTED = (
    "Open - Not Contacted", "Working - Contacted", "Qualified", "Unqualified",
    "Closed - Converted",
)  # fmt: skip
QUALIFIED_ODD = "qualified "
# Status paths after creation (the lead starts Open); Q is replaced by a Qualified spelling.
PATHS: Sequence[tuple[str, ...]] = (
    [()] * 15 + [(WORKING,)] * 20 + [(WORKING, UNQUALIFIED)] * 24 + [(UNQUALIFIED,)] * 6
    + [(WORKING, "Q")] * 13 + [(WORKING, "Q", WORKING)] * 4
    + [(WORKING, "Q", CONVERTED)] * 13 + [("Q", CONVERTED)] * 3 + [(CONVERTED,)] * 2
)  # fmt: skip
SOURCES: Sequence[str | None] = (
    ["Web"] * 26 + ["Phone Inquiry"] * 10 + ["Partner Referral"] * 10 + ["Trade Show"] * 8
    + ["Purchased List"] * 8 + ["Employee Referral"] * 4 + ["Other"] * 5
    + [" Web ", "Web ", "Trade Show "] + [None] * 6 + [""] * 2 + ["  "]
)  # fmt: skip
OPEN_STAGES = ["Prospecting", "Qualification", "Needs Analysis", "Proposal/Price Quote",
               "Negotiation/Review"]  # fmt: skip
INDUSTRIES = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education",
              "Media", None]  # fmt: skip
ACCOUNT_TYPES = ["Prospect", "Customer - Direct", "Customer - Channel", "Partner", None]
FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal",
         "Kira", "Liam", "Maya", "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq"]  # fmt: skip
LAST = ["Adams", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
        "Johnson", "Kumar", "Lopez", "Moreau", "Nguyen", "Okafor", "Patel", "Rossi", "Smith"]  # fmt: skip
WORDS = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent",
         "Tyrell", "Wonka", "Cyberdyne"]  # fmt: skip
SUFFIXES = ["Inc", "LLC", "Ltd", "Group", "Corp", "GmbH"]
CAMPAIGN_TYPES = ["Webinar", "Email Campaign", "Trade Show", "Content Download"]
MEMBER_STATUSES = ["Sent", "Responded", "Registered", "Attended"]
TASK_SUBTYPES = ["Call"] * 40 + ["Email"] * 28 + ["List Email"] * 8 + ["Task"] * 24
TASK_TYPES: dict[str, Sequence[str | None]] = {
    "Call": ["Call", "Call", "call", None],
    "Email": ["Email", "Email", "email", None],
    "List Email": ["Email", None],
    "Task": [None, None, "Other", "To Do", "Meeting"],
}
EVENT_TYPES: Sequence[str | None] = ("Meeting",) * 6 + ("meeting", "Demo", "Other", None)
REGIONS = ["East", "West", "Central", "EMEA"]
CALL_TYPES = ["Outbound", "Outbound", "Inbound", "Internal"]
TASK_STATUSES = ["Completed"] * 8 + ["Not Started", "In Progress"]
