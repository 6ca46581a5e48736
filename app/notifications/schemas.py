from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.classification import Classification
from app.notifications.models import Kind
from app.vocabulary import Precedence


class NotificationOut(BaseModel):
    id: int
    kind: Kind
    what: str = Field(description="The event in words")
    demarche_id: int
    tasking_id: int | None
    # The demarche as this reader may read it (the list shows only demarches they see).
    subject: str
    classification: Classification
    precedence: Precedence
    due_date: date | None
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = Field(description="Pass back as ?cursor= for the next page")
    limit: int
    unread: int = Field(description="The reader's unread notifications")


class MarkedRead(BaseModel):
    marked: int = Field(description="How many notifications this marked read")
