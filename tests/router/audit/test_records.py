"""The canonical form and the hash chain are fixed: trails written by earlier versions must
keep verifying. The expected hashes were computed by the first implementation of the chain."""

from __future__ import annotations

import enum
import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from router.audit.records import GENESIS_HASH, AuditRecord, chain_hash, clean_details, new_uid


class Code(enum.IntEnum):
    CREATED = 201


DETAILS: list[dict[Any, Any] | None] = [
    None,
    {"status": 201, "path": "/api/v1/admin/keys"},
    {
        "status": Code.CREATED,
        "ratio": 0.1,
        "big": 10**20,
        "neg": -0.0,
        "nan": float("nan"),
        "inf": float("-inf"),
    },
    {
        "nested": {
            "api_key": "s3cret",
            "list": (1, "two", None, True),
            3: "int key",
            "token_id": "x",
        }
    },
    {"text": "caf\u00e9 \u2028 \x00 nul \ud800 lone", "emoji": "\U0001f600", "ctl": '\x1f\n\t"\\'},
    {"Authorization": "Bearer x", "deep": [{"password": "p", "ok": [1.5e300, False]}]},
]
# (content hash, chain hash) of record i, chained from the genesis hash.
EXPECTED = [
    (
        "8b2442cfb0d39640fd91482e9032fc14ab1d83845ce69f7de4b1d6b7f1768150",
        "7020f68417bb24177c32ad7aa6280d090ecb9b4bb6092be083d5dfc5ddbe496f",
    ),
    (
        "d1d1d5a4efccf402a84d5c5b9e81e0719a15e8bc524c037efc83f4773f67b50f",
        "5780cf99d5817029ee782f461122a6bb615f4135356281841b2283dd1d5f866c",
    ),
    (
        "2e96276b56b74bf47533f9b761c2df290f51ae24bc22cda8b629a22ba81307b4",
        "9975e4cfd4d87bfdd0a0cc9aef29e56216e646e354e631026e1c03e7e6955a26",
    ),
    (
        "265add1d473a0b32e65c30def10b4007a7ff39d80fe6f49db55dc45d7f300a26",
        "454885fa20ecb11ac2c8da63decce8eefde96783e79a2485b05b7523a3739051",
    ),
    (
        "d537810c7b9b22ab812fa1b6846e0eaefff28a6f6d07cba5aec1642eea9ebf95",
        "a9e17039813f83828d8182ad7f5106433e52d92a6fb84fb1c30ecd53b0072db9",
    ),
    (
        "190fd945b69959d9b1d036365b299ceb5b169fa7e6ba068cbffe936ec402d39a",
        "2472f072ae8318459d3fb2c62f5de0a29750394e58a85b504397e5f895a54a64",
    ),
]


def _record(index: int, details: dict[Any, Any] | None) -> AuditRecord:
    return AuditRecord(
        category="AUDIT",
        action=f"POST /api/v1/x\u00e9/{index}",
        result="success",
        module="router",
        version="1.2.3",
        community="c\u00f6" if index % 2 else None,
        user="key:abc",
        reason=None if index % 2 else 'why "quoted"',
        correlation_id="req-1",
        details=clean_details(details),
        timestamp=datetime(2026, 1, 2, 3, 4, 5, index * 1001, tzinfo=UTC),
        uid=f"00000000-0000-4000-8000-{index:012d}",
    )


def test_records_hash_and_chain_as_they_always_did() -> None:
    prev = GENESIS_HASH
    for index, details in enumerate(DETAILS):
        record = _record(index, details)
        content = record.content_hash()
        prev = chain_hash(prev, content)
        assert (content, prev) == EXPECTED[index], index


def test_cleaned_details_are_what_json_reads_back() -> None:
    for details in DETAILS:
        cleaned = clean_details(details)
        assert json.loads(json.dumps(cleaned)) == cleaned
        assert json.dumps(json.loads(json.dumps(cleaned))) == json.dumps(cleaned)
    cleaned = clean_details(DETAILS[2])
    assert cleaned is not None and type(cleaned["status"]) is int


def test_a_restored_record_hashes_like_the_original() -> None:
    for index, details in enumerate(DETAILS):
        record = _record(index, details)
        assert AuditRecord.from_json(json.loads(json.dumps(record.to_json()))) == record


def test_new_uids_are_random_version_4_uuids_as_text() -> None:
    uids = [new_uid() for _ in range(10_000)]
    assert len(set(uids)) == len(uids)
    for uid in uids[:500]:
        parsed = uuid.UUID(uid)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, uid)


def test_a_forked_child_draws_uids_of_its_own() -> None:
    new_uid()  # the parent holds a block of random bytes now
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, new_uid().encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    from_child = os.read(read, 64).decode()
    os.close(read)
    assert from_child != new_uid()
