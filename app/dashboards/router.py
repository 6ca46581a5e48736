"""The results roll-up in the API: JSON, or the same roll-up as CSV or XLSX."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.dashboards import exports, results
from app.dashboards.schemas import ResultsOut
from app.deps import CurrentUser, SessionDep
from app.http import model_response, problems
from app.limits import RecordId

router = APIRouter(prefix="/demarches", tags=["results"])

# A choice in a query string: refused with 422 when unknown (results.parse_*).
Choice = Annotated[str, Query(max_length=32)]


@router.get(
    "/{demarche_id}/results",
    response_model=ResultsOut,
    responses=problems(422)
    | {
        200: {
            "content": {
                exports.CSV_TYPE: {"schema": {"type": "string"}},
                exports.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
def get_results(
    demarche_id: RecordId,
    session: SessionDep,
    actor: CurrentUser,
    sort: Annotated[
        str,
        Query(
            max_length=32,
            description="post, country, region, position or delivered; '-' first reverses",
        ),
    ] = "post",
    region: Choice = "",
    position: Annotated[
        str, Query(max_length=32, description="A position, or 'none' for no response yet")
    ] = "",
    status: Choice = "",
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Response:
    """The demarche's results roll-up: one row per action target, by region, with totals."""
    rollup = results.rollup(
        session,
        demarche_id,
        actor=actor,
        sort=sort,
        filters=results.parse_filters(region=region, position=position, status=status),
    )
    if format != "json":
        return exports.download(rollup, format)
    return model_response(results.to_out(rollup))
