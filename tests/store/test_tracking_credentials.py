"""A tracking URI with credentials: probed with basic auth, the password never printed."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest
from IPython.utils.capture import capture_output

import jupyter_mlops
import jupyter_mlops.core.capture.session


class _AuthRecorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[str | None]] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization"))
        self.send_response(404)
        self.end_headers()

    def do_POST(self) -> None:
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


def test_http_uri_with_credentials_is_probed_with_basic_auth(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _AuthRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://alice:s3cret@127.0.0.1:{server.server_port}/mlflow"
        with pytest.raises(jupyter_mlops.MlopsError) as caught:
            jupyter_mlops.init(tracking_uri=uri)
    finally:
        server.shutdown()
        server.server_close()
    assert "unreachable" not in str(caught.value) and "s3cret" not in str(caught.value)
    assert _AuthRecorder.seen[0] == "Basic " + base64.b64encode(b"alice:s3cret").decode()


@pytest.mark.slow
def test_tracking_password_is_never_printed_into_the_notebook(shell, mlflow_server):
    uri = f"http://ana:s3cret@127.0.0.1:{mlflow_server}"
    with capture_output() as shown:
        shell.run_line_magic("mlops", f"init --tracking-uri {uri} --experiment remote")
        result = shell.run_cell("%%mlops run --no-autolog --metrics m\nm = 1.0")
    assert result.success
    assert "s3cret" not in shown.stdout + shown.stderr
    assert "ana:***@" in shown.stdout
    client = jupyter_mlops.core.capture.session.current().resolved.client
    (run,) = client.search_runs([client.get_experiment_by_name("remote").experiment_id])
    assert run.info.status == "FINISHED" and run.data.metrics == {"m": 1.0}
