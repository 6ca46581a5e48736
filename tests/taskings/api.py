"""Calls to the tasking API and reads behind it, shared by the workflow and concurrency tests."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.audit import AuditEvent
from app.taskings.models import Delivery, Response, Tasking
from tests.factories import demarche_payload, write

API = "/api/v1"


def delivery_body(**over: Any) -> dict[str, Any]:
    body = {
        "delivered_on": date.today().isoformat(),
        "delivered_by": "Political Counselor",
        "recipient_name": "A. Minister",
        "recipient_title": "Director, UN Affairs",
        "level": "senior_official",
        "method": "meeting",
        "points": [1],
        "notes": "Delivered points; no commitment given.",
    }
    body.update(over)
    return body


def response_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "position": "leans_supportive",
        "summary": "The MFA will recommend a yes vote to the minister.",
        "commitments": [],
    }
    body.update(over)
    return body


def etag_of(client, tasking_id: int, headers: dict[str, str]) -> str:
    r = client.get(f"{API}/taskings/{tasking_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def issue_demarche(client, desk: dict[str, str], targets: list[dict], **over) -> dict:
    body = demarche_payload([], **over)
    body["targets"] = targets
    r = client.post(f"{API}/demarches", json=body, headers=desk)
    assert r.status_code == 201, r.text
    r = write(client, "POST", f"{API}/demarches/{r.json()['id']}/issue", desk)
    assert r.status_code == 200, r.text
    return r.json()


def tasking_id(demarche: dict, post: str) -> int:
    return next(t["id"] for t in demarche["taskings"] if t["post"] == post)


def problem(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["detail"]
    return body


def state_of(db: Session, tid: int) -> dict[str, Any]:
    """Everything a refused move must leave alone, read straight from the database."""
    status, version = db.execute(
        select(Tasking.status, Tasking.version).where(Tasking.id == tid)
    ).one()
    return {
        "status": status,
        "version": version,
        "deliveries": db.scalar(select(func.count()).where(Delivery.tasking_id == tid)),
        "responses": db.scalar(select(func.count()).where(Response.tasking_id == tid)),
        "audit": db.scalar(select(func.count()).select_from(AuditEvent)),
    }
