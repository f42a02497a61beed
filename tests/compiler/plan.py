"""What the differential test's database holds, as data; `seed.py` makes it through the API.

Viewers: anonymous, budi (a contributor), siti (an organizer: the creator of most tasks), rahmat
(a verifier) and admin. Around them: joko (an organizer with his own tasks, so that siti is not
the creator of everything), vera (verifier and organizer), dewi and eko (contributors).
"""

from __future__ import annotations

from typing import Any

USERS = [
    ("admin", ["admin"]),
    ("siti", ["organizer"]),
    ("joko", ["organizer"]),
    ("rahmat", ["verifier"]),
    ("vera", ["verifier", "organizer"]),
    ("budi", None),  # registered with accountRegister
    ("dewi", None),
    ("eko", None),
]
VIEWER_ACCOUNTS = {
    "anonymous": None,
    "contributor": "budi",
    "organizer": "siti",
    "verifier": "rahmat",
    "admin": "admin",
}
PROFILES = {
    "budi": {
        "bio": "Carpenter and river volunteer.",
        "location": "Yogyakarta",
        "avatarUrl": "https://img.example/budi.png",
        "skills": ["carpentry", "cleanup"],
    },
    "dewi": {"bio": "Teacher.", "location": "Sleman", "skills": ["teaching", "accounting"]},
}

# label | creator | title | skills | latitude longitude | hours difficulty payer ("-": none)
TASKS = """
open          | siti | Clean the river bank at Kali Code  | cleanup community-service | -7.7829 110.3671 | 2 EASY CREATOR
assigned      | siti | Repair the community hall roof     | carpentry                 | -7.7956 110.3695 | 3 HARD CREATOR
in_progress   | siti | Teach basic bookkeeping            | accounting teaching       | - -              | 2 INTERMEDIATE COMMUNITY
cancelled     | siti | Plant mangroves in Baros           | planting                  | -7.9971 110.2834 | 1 - CREATOR
completed     | siti | Build the neighbourhood rain gauge | carpentry electronics     | -7.8014 110.3647 | 2 INTERMEDIATE CREATOR
reassigned    | siti | Paint the school fence             | painting                  | -7.7700 110.3800 | 1 EASY COMMUNITY
bare          | joko | Sort the donated books             |                           | - -              | - - CREATOR
witnessed     | joko | Cook for the night market          | cooking                   | -6.2000 106.8166 | 1 EASY COMMUNITY
far           | joko | Map the Jakarta flood drains       | mapping cleanup           | -6.1751 106.8650 | 4 HARD COMMUNITY
joko_assigned | joko | Fix the mosque speakers            | electronics               | -7.7900 110.3600 | 1 INTERMEDIATE COMMUNITY
started       | vera | Guide the river walk               | cleanup                   | -7.7835 110.3675 | 1 EASY COMMUNITY
"""  # noqa: E501

# Lifecycle steps after creation: who, mutation, task label, assignee.
STEPS = """
siti assign assigned budi
dewi claim in_progress
dewi start in_progress
siti assign cancelled eko
siti cancel cancelled
siti assign completed budi
budi start completed
siti assign reassigned budi
siti assign reassigned dewi
dewi start reassigned
eko claim witnessed
eko start witnessed
joko assign joko_assigned eko
budi claim started
budi start started
"""


def task_input(index: int, line: str) -> tuple[str, str, dict[str, Any]]:
    """(label, creator, TaskCreateInput) of one line of TASKS."""
    label, creator, title, skills, place, rest = (part.strip() for part in line.split("|"))
    lat, lon = (None if value == "-" else float(value) for value in place.split())
    hours, difficulty, payer = (None if value == "-" else value for value in rest.split())
    fields = {
        "title": title,
        "description": f"{title}. Bring gloves and water.",
        "skills": skills.split(),
        "latitude": lat,
        "longitude": lon,
        "location": None if lat is None else ("Yogyakarta" if lat < -7 else "Jakarta"),
        "estimatedHours": None if hours is None else float(hours),
        "difficulty": difficulty,
        "metadata": {"index": index, "tags": ["seed", label]} if index % 2 else {},
        "payer": payer,
    }
    return label, creator, {key: value for key, value in fields.items() if value is not None}


# Tasks completed (label, assignee, TaskCompleteInput fields), then standalone work.
COMPLETIONS = [
    (
        "completed",
        "budi",
        {"description": "Gauge installed.", "durationHours": 2.5, "metadata": {"rain_mm": 12}},
    ),
    ("reassigned", "dewi", {"title": "Painted the fence", "evidenceUrl": "https://p.example/f"}),
    ("witnessed", "eko", {}),
]
STANDALONE = [
    (
        "mentoring",
        "dewi",
        {"contributionType": "MENTORING", "title": "Mentored volunteers", "skills": ["teaching"]},
    ),
    (
        "docs",
        "budi",
        {
            "contributionType": "DOCUMENTATION",
            "title": "Wrote the tool guide",
            "description": "How to borrow and return tools.",
            "evidenceUrl": "https://docs.example/tools",
            "metadata": {"pages": 4},
        },
    ),
    (
        "review",
        "eko",
        {
            "contributionType": "CODE_REVIEW",
            "title": "Reviewed the gauge code",
            "skills": ["electronics", "programming"],
        },
    ),
    ("custom", "rahmat", {"contributionType": "CUSTOM", "title": "Lent a ladder"}),
]

# Evidence without a file: label, contribution label, contributor, EvidenceSubmitInput fields.
WITNESSES = [
    {
        "witnessName": "Pak Harto",
        "relationship": "SUPERVISOR",
        "statement": "I saw the food served.",
        "contact": "harto@example.org",
    },
    {"witnessName": "Bu Sri", "relationship": "BENEFICIARY"},
    {"witnessName": "Adi", "relationship": "PEER", "statement": "We cooked together."},
]
SUBMITTED = [
    (
        "gps",
        "completed",
        "budi",
        {
            "evidenceType": "GPS_VERIFICATION",
            "location": {"latitude": -7.8014, "longitude": 110.3647, "accuracyMeters": 6},
        },
    ),
    (
        "gps_poor",
        "mentoring",
        "dewi",
        {
            "evidenceType": "GPS_VERIFICATION",
            "location": {"latitude": -7.7, "longitude": 110.4, "accuracyMeters": 150},
            "mediaHash": "ab" * 20,
        },
    ),
    (
        "witness",
        "witnessed",
        "eko",
        {"evidenceType": "WITNESS_ATTESTATION", "witnesses": WITNESSES},
    ),
]
# Photos of budi's completed task: verified (the right hash), rejected (a claimed hash that is
# not the file's), and requested but never uploaded (PENDING_UPLOAD).
PHOTOS = [("photo", "right"), ("photo_rejected", "wrong"), ("photo_pending", None)]

# contribution label, outcome, verifiers in order (three make the quorum).
VERIFICATIONS = [
    ("completed", "APPROVED", ["rahmat", "vera", "admin"]),
    ("reassigned", "REJECTED", ["rahmat", "admin", "vera"]),
    ("mentoring", "APPROVED", ["rahmat"]),
    ("witnessed", "REJECTED", ["vera"]),
]
VOUCHES = [
    ("budi", "dewi", {"skill": "teaching", "weightHint": "STRONG", "message": "Patient."}),
    ("dewi", "budi", {}),
    ("rahmat", "budi", {"skill": "carpentry", "weightHint": "LIGHT"}),
    ("siti", "eko", {"skill": "cooking", "weightHint": "MODERATE", "message": "Tasty."}),
    ("admin", "dewi", {"skill": "accounting", "weightHint": "MODERATE"}),
    ("eko", "budi", {"skill": "cleanup", "message": "Always on time."}),
]
TRANSFERS = [
    ("budi", "dewi", 30, "Thanks for the bookkeeping lesson"),
    ("dewi", "eko", 15, None),
]
# The oldest outbox events, as the worker leaves them (the rest stay pending): state, last
# status code. A failed one gets its dead letter; the oldest failure is replayed by admin.
WEBHOOK_STATES = [
    ("delivered", 202),
    ("failed", 500),
    ("failed", 400),
    ("processing", None),
    ("delivered", 200),
    ("failed", None),
]
