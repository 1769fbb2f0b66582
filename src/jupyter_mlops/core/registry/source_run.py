"""Which run produced a model: the latest run of the notebook whose cell assigned or fitted the
variable, checked by object identity when that run was recorded by this very process."""

from __future__ import annotations

import json
from typing import Any

from mlflow.entities import Run, ViewType

from jupyter_mlops.core.capture.produced import did_produce
from jupyter_mlops.core.capture.provenance import notebook_filter
from jupyter_mlops.core.capture.run_capture import Warn
from jupyter_mlops.core.capture.session import Target
from jupyter_mlops.core.store.orphans import owner_tags
from jupyter_mlops.core.tags import CELL_OBJECTS_TAG, CELL_PRODUCED_TAG

__all__ = ["find_source_run"]

_SEARCH_LIMIT = 500  # newest runs of the notebook looked at for the one that produced VAR


def find_source_run(
    target: Target, variable: str, model: Any = None, warn: Warn | None = None
) -> Run | None:
    """The latest FINISHED run of ``target``'s notebook whose cell assigned or fitted
    ``variable`` (None when there is none).

    A run recorded by this very process is taken only if ``variable`` still holds the object
    that run made: a model re-fitted or reassigned outside a recorded cell afterwards did not
    come from it (then None is returned, with a warning, and a new run records the cell).
    """
    query, _, _ = notebook_filter(target)
    status = "attributes.status = 'FINISHED'"
    runs = target.client.search_runs(
        [target.experiment_id],
        filter_string=f"{query} and {status}" if query else status,
        run_view_type=ViewType.ACTIVE_ONLY,
        max_results=_SEARCH_LIMIT,
        order_by=["attributes.start_time DESC"],
    )
    me = owner_tags()
    replaced: list[str] = []
    for run in runs:
        tags = run.data.tags
        if not did_produce(tags.get(CELL_PRODUCED_TAG), variable):
            continue
        if model is not None and all(tags.get(k) == v for k, v in me.items()):
            try:
                made = json.loads(tags.get(CELL_OBJECTS_TAG) or "{}").get(variable)
            except ValueError:
                made = None
            if made == id(model):
                return run
            replaced.append(run.info.run_id)
            continue
        if not replaced:  # recorded by another (earlier) kernel: the latest such run
            return run
        break  # this kernel made the object later than that run
    if replaced and warn is not None:
        warn(
            f"{variable} is not the object run {replaced[0][:12]} recorded (it was re-fitted "
            "or reassigned outside a recorded cell); recording this cell as a new run"
        )
    return None
