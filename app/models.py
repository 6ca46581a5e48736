"""Every domain's models, imported once so Alembic and the mappers see one metadata."""

from app.audit import AuditEvent
from app.auth.models import ApiToken, LoginAttempt, LoginThrottle, Role, User, WebSession
from app.cables.models import Cable, CableReply
from app.dashboards.models import CalendarFeed
from app.db import Base
from app.demarches.models import (
    Demarche,
    DemarcheRevision,
    DemarcheTag,
    DemarcheTarget,
    KeyDate,
    Objective,
    TalkingPoint,
)
from app.notifications.models import Notification, NotificationEmail
from app.posts.models import Collective, CollectiveMembership, Post
from app.taskings.models import (
    Commitment,
    Delivery,
    IdempotencyKey,
    ObjectiveStance,
    Response,
    ResponseRevision,
    Tasking,
)

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "CalendarFeed",
    "ObjectiveStance",
    "Cable",
    "CableReply",
    "Collective",
    "CollectiveMembership",
    "Commitment",
    "Delivery",
    "Demarche",
    "DemarcheRevision",
    "DemarcheTag",
    "IdempotencyKey",
    "DemarcheTarget",
    "KeyDate",
    "LoginAttempt",
    "LoginThrottle",
    "Notification",
    "NotificationEmail",
    "Objective",
    "Post",
    "Response",
    "ResponseRevision",
    "Role",
    "TalkingPoint",
    "Tasking",
    "User",
    "WebSession",
]
