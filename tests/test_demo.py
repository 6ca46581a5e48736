from __future__ import annotations

from sqlalchemy import func, select

from app import demo
from app.auth.service import user_for_token
from app.demarches.models import Demarche, DemarcheStatus
from app.posts.models import Post
from app.taskings.models import Tasking


def test_demo_loads_a_living_system(db):
    assert demo.is_empty(db)
    creds = demo.load(db)
    db.commit()
    assert not demo.is_empty(db)
    assert db.scalar(select(func.count()).select_from(Post)) == len(demo.POSTS) >= 15
    statuses = dict(
        db.execute(select(Demarche.status, func.count()).group_by(Demarche.status)).all()
    )
    assert statuses[DemarcheStatus.ISSUED] >= 2 and statuses[DemarcheStatus.DRAFT] >= 1
    tasking_states = set(db.scalars(select(Tasking.status).distinct()))
    assert len(tasking_states) >= 4, f"taskings should be in mixed states, got {tasking_states}"
    # Every printed token works and belongs to the user it is printed beside.
    for c in creds:
        assert user_for_token(db, c.token).username == c.username
