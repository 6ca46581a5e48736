"""Every domain's models, imported once so Alembic and the mappers see one metadata."""

from app.audit import AuditEvent
from app.auth.models import ApiToken, Role, User
from app.cables.models import Cable
from app.db import Base
from app.demarches.models import (
    Demarche,
    DemarcheTag,
    DemarcheTarget,
    KeyDate,
    Objective,
    TalkingPoint,
)
from app.posts.models import Collective, Post
from app.taskings.models import Commitment, Delivery, Response, Tasking

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Cable",
    "Collective",
    "Commitment",
    "Delivery",
    "Demarche",
    "DemarcheTag",
    "DemarcheTarget",
    "KeyDate",
    "Objective",
    "Post",
    "Response",
    "Role",
    "TalkingPoint",
    "Tasking",
    "User",
]
