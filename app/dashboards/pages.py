"""Dashboard pages. (The outstanding-demarches home page grows with the dashboards issue.)"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from app.auth.policy import visible_demarches
from app.classification import Classification
from app.demarches.models import Demarche, DemarcheStatus
from app.deps import SessionDep
from app.web import PageUser, render

router = APIRouter(include_in_schema=False)


@router.get("/", name="home")
def home(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    rows = session.scalars(
        select(Demarche)
        .where(visible_demarches(user), Demarche.status == DemarcheStatus.ISSUED)
        .order_by(Demarche.deadline, Demarche.id)
        .limit(50)
    ).all()
    banner = max((d.classification for d in rows), default=Classification.UNCLASSIFIED,
                 key=lambda c: c.rank)
    return render(request, "dashboards/home.html", banner=banner, demarches=rows)
