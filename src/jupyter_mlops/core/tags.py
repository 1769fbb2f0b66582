"""Every tag key and artifact path jupyter-mlops writes into MLflow, defined once.

These strings are a contract: other tools, saved searches and older runs read them, so a value
here never changes. ``docs/what-is-recorded.md`` documents each of them, and a test checks the
two against each other. Keys that hold a name (a dataset's) are built by the small functions
below. A root module: it imports nothing from jupyter_mlops.

>>> data_fingerprint_tag("X_train")
'mlops.data.X_train.fingerprint'
>>> reference_profile_artifact("X_train")
'reference/X_train.profile.json'
"""

from __future__ import annotations

__all__ = [
    "CELL_CODE_ARTIFACT",
    "CELL_EXECUTION_COUNT_TAG",
    "CELL_ID_TAG",
    "CELL_OBJECTS_TAG",
    "CELL_PRODUCED_TAG",
    "CODE_PATH_TAG",
    "DATA_FINGERPRINT_SUFFIX",
    "DATA_TAG_PREFIX",
    "DECISION_ARTIFACT",
    "DECISION_REPORT_ARTIFACT",
    "ERROR_MESSAGE_TAG",
    "ERROR_TYPE_TAG",
    "FINGERPRINT_FORMAT_TAG",
    "GIT_BRANCH_TAG",
    "GIT_COMMIT_TAG",
    "GIT_DIRTY_TAG",
    "HELD_ALIASES_TAG",
    "HELD_ALIAS_TAG",
    "HELD_REASON_TAG",
    "HIDDEN_STATE_CELLS_TAG",
    "HIDDEN_STATE_TAG",
    "HOST_TAG",
    "JOB_CELLS_TAG",
    "JOB_FAILED_CELL_ID_TAG",
    "JOB_FAILED_CELL_TAG",
    "JOB_ID_TAG",
    "JOB_MODEL_TAG",
    "JOB_NAME_TAG",
    "JOB_OUTCOME_TAG",
    "JOB_OUTPUT_ARTIFACT",
    "JOB_OUTPUT_TAG",
    "JOB_PARAMETERS_TAG",
    "JOB_PARAMETER_TYPES_TAG",
    "JOB_RUN_TAG",
    "LEDGER_PREFIX",
    "METRICS_KEYS_TAG",
    "METRICS_TAG",
    "MODEL_FINGERPRINT_TAG",
    "MODEL_FLAVOR_TAG",
    "MODEL_VARIABLE_TAG",
    "NOTEBOOK_FOUND_BY_TAG",
    "NOTEBOOK_PATH_TAG",
    "NOTEBOOK_SNAPSHOT_ARTIFACT",
    "OWNER_TAG",
    "PARAMS_KEYS_TAG",
    "PARAMS_TAG",
    "PID_TAG",
    "PROCESS_STARTED_TAG",
    "PROJECT_ROOT_TAG",
    "PURPOSE_TAG",
    "REFERENCE_PROFILES_TAG",
    "REQUIREMENTS_ARTIFACT",
    "RISK_TIER_TAG",
    "SCRIPT_PATH_TAG",
    "SOURCE_RUN_ID_TAG",
    "TAG_PREFIX",
    "TRACEBACK_ARTIFACT",
    "VALIDATION_AGAINST_TAG",
    "VALIDATION_DATE_TAG",
    "VALIDATION_GATES_TAG",
    "VALIDATION_MODEL_TAG",
    "VALIDATION_OVERRIDE_TAG",
    "VALIDATION_RUN_TAG",
    "VALIDATION_SHA256_TAG",
    "VALIDATION_STATUS_TAG",
    "VALIDATION_VERSION_TAG",
    "VERSION_TAG",
    "data_fingerprint_tag",
    "data_rows_tag",
    "keys_tag",
    "path_tag",
    "reference_profile_artifact",
]

#: The namespace of every tag below; a user's ``--tag`` may not start with it.
TAG_PREFIX = "mlops."

# --- Run lineage: where a run's code came from (run tags, most copied onto model versions) ---
VERSION_TAG = "mlops.version"  # the jupyter-mlops version that recorded the run
PROJECT_ROOT_TAG = "mlops.project.root"  # absolute path of the project root
NOTEBOOK_PATH_TAG = "mlops.notebook.path"  # the notebook, relative to the project root
NOTEBOOK_FOUND_BY_TAG = "mlops.notebook.found_by"  # how the notebook was found
SCRIPT_PATH_TAG = "mlops.script.path"  # the program that ran jupyter_mlops.run()
CODE_PATH_TAG = "mlops.code.path"  # the imported module whose code called run()
CELL_ID_TAG = "mlops.cell.id"  # the nbformat id of the executed cell
CELL_EXECUTION_COUNT_TAG = "mlops.cell.execution_count"  # the N of In [N]
CELL_PRODUCED_TAG = "mlops.cell.produced"  # ",a,b," names the code bound or fitted
CELL_OBJECTS_TAG = "mlops.cell.objects"  # JSON {produced estimator name: id()} in that process
GIT_DIRTY_TAG = "mlops.git.dirty"  # "true"/"false": files differed from the commit
GIT_COMMIT_TAG = "mlops.git.commit"  # on a model version: its run's mlflow.source.git.commit
GIT_BRANCH_TAG = "mlops.git.branch"  # never written; shown in a run's lineage if set by others
HIDDEN_STATE_TAG = "mlops.hidden_state"  # "true" when kernel state did not match the notebook
HIDDEN_STATE_CELLS_TAG = "mlops.hidden_state.cells"  # JSON list of the hidden-state findings
PARAMS_KEYS_TAG = "mlops.params.keys"  # comma-separated params chosen (not autologged)
METRICS_KEYS_TAG = "mlops.metrics.keys"  # comma-separated metrics chosen (not autologged)
DATA_TAG_PREFIX = "mlops.data."  # start of the per-dataset tags (see the functions below)
DATA_FINGERPRINT_SUFFIX = ".fingerprint"  # end of a dataset's fingerprint tag
FINGERPRINT_FORMAT_TAG = "mlops.fingerprint.format"  # dataset source tag: fingerprint algorithm

# --- The process that recorded a run, and how the run failed ---
HOST_TAG = "mlops.host"  # host name of the recording process
PID_TAG = "mlops.pid"  # its process id
PROCESS_STARTED_TAG = "mlops.process.started"  # its start time (clock ticks since boot)
ERROR_TYPE_TAG = "mlops.error.type"  # exception class name; KernelDied, StoreUnavailable
ERROR_MESSAGE_TAG = "mlops.error.message"  # the exception's message, secrets masked

# --- Jobs (jupyter-mlops run): on the job's run, the runs it made and the versions they made ---
JOB_ID_TAG = "mlops.job.id"  # the id of one execution of a job
JOB_NAME_TAG = "mlops.job.name"  # the job's name
JOB_RUN_TAG = "mlops.job.run_id"  # on a run or version: the job's own run
JOB_OUTCOME_TAG = "mlops.job.outcome"  # succeeded, failed, timed_out, ...
JOB_PARAMETERS_TAG = "mlops.job.parameters"  # JSON of the typed parameters, secrets masked
JOB_PARAMETER_TYPES_TAG = "mlops.job.parameter_types"  # JSON {parameter: type}
JOB_MODEL_TAG = "mlops.job.model"  # the model the job's contract names
JOB_OUTPUT_TAG = "mlops.job.output"  # where the executed notebook was written
JOB_CELLS_TAG = "mlops.job.cells"  # "done/total" code cells executed
JOB_FAILED_CELL_TAG = "mlops.job.failed_cell"  # 1-based position of the cell that failed
JOB_FAILED_CELL_ID_TAG = "mlops.job.failed_cell.id"  # its nbformat id
HELD_ALIAS_TAG = "mlops.job.held_alias"  # on a version: the alias to move if the job succeeds
HELD_REASON_TAG = "mlops.job.held_reason"  # the reason that alias move will record
HELD_ALIASES_TAG = "mlops.job.held_aliases"  # on the job's run: the held moves and their fate

# --- Registry: model version tags (lineage snapshot at registration) ---
SOURCE_RUN_ID_TAG = "mlops.source.run_id"  # the run the version was registered from
MODEL_FLAVOR_TAG = "mlops.model.flavor"  # the MLflow flavor the model was logged with
PARAMS_TAG = "mlops.params"  # JSON of the run's chosen params
METRICS_TAG = "mlops.metrics"  # JSON of the run's chosen metrics
REFERENCE_PROFILES_TAG = "mlops.reference.profiles"  # the run's reference profile artifacts
VALIDATION_STATUS_TAG = "mlops.validation.status"  # passed | failed | ungated (last validation)
VALIDATION_SHA256_TAG = "mlops.validation.sha256"  # sha256 of that validation/decision.json
VALIDATION_RUN_TAG = "mlops.validation.run_id"  # the validation run holding the decision record
VALIDATION_DATE_TAG = "mlops.validation.date"  # when it was validated (UTC, ISO 8601)
VALIDATION_AGAINST_TAG = "mlops.validation.against"  # the champion version compared with
VALIDATION_OVERRIDE_TAG = "mlops.validation.override"  # JSON: who moved a protected alias anyway
VALIDATION_MODEL_TAG = "mlops.validation.model"  # on a validation run: the model validated
VALIDATION_VERSION_TAG = "mlops.validation.version"  # on a validation run: the version validated
VALIDATION_GATES_TAG = "mlops.validation.gates"  # on a validation run: how many gates it holds

# --- Registry: logged model tags (which variable the logged model came from) ---
MODEL_VARIABLE_TAG = "mlops.model.variable"  # the notebook variable that held the model
MODEL_FINGERPRINT_TAG = "mlops.model.fingerprint"  # a fingerprint of the fitted model

# --- Registry: registered model tags (inventory fields, alias ledger) ---
OWNER_TAG = "mlops.owner"  # the team or person accountable for the model
PURPOSE_TAG = "mlops.purpose"  # what the model is for
RISK_TIER_TAG = "mlops.risk_tier"  # "1", "2" or "3"
LEDGER_PREFIX = "mlops.ledger."  # + <time>.<random>: one alias move, as JSON

# --- Artifacts of a run ---
CELL_CODE_ARTIFACT = "code/cell.py"  # the executed cell (or calling file), secrets masked
NOTEBOOK_SNAPSHOT_ARTIFACT = "code/notebook.ipynb"  # the notebook as saved when the run ended
REQUIREMENTS_ARTIFACT = "environment/requirements.txt"  # Python, platform and distributions
TRACEBACK_ARTIFACT = "error/traceback.txt"  # the traceback of a failed run
JOB_OUTPUT_ARTIFACT = "job/output.ipynb"  # on a job's run: the executed notebook, masked
DECISION_ARTIFACT = "validation/decision.json"  # on a validation run: the decision record
DECISION_REPORT_ARTIFACT = "validation/report.html"  # the same decision, for a reviewer


def keys_tag(kind: str) -> str:
    """The tag listing the chosen ``params`` or ``metrics`` of a run."""
    return {"params": PARAMS_KEYS_TAG, "metrics": METRICS_KEYS_TAG}[kind]


def path_tag(kind: str) -> str:
    """The tag holding the path of a run's ``notebook`` or ``script``."""
    return {"notebook": NOTEBOOK_PATH_TAG, "script": SCRIPT_PATH_TAG}[kind]


def data_fingerprint_tag(name: str) -> str:
    """Run or version tag: the fingerprint of the dataset input ``name``."""
    return f"{DATA_TAG_PREFIX}{name}{DATA_FINGERPRINT_SUFFIX}"


def data_rows_tag(name: str) -> str:
    """Version tag: the number of rows of the training data ``name``."""
    return f"{DATA_TAG_PREFIX}{name}.rows"


def reference_profile_artifact(dataset: str) -> str:
    """Run artifact: the training reference profile of ``dataset``."""
    return f"reference/{dataset}.profile.json"
