"""AMLRequest and AMLResponse: the Werkzeug-like interface entry scripts use."""

import io
import json

import pytest

from azureml.contrib.services.aml_request import AMLRequest, BadRequest, UnsupportedMediaType
from azureml.contrib.services.aml_response import AMLResponse


def test_request_headers_are_case_insensitive_and_named_as_under_wsgi():
    request = AMLRequest("post", "/score", b"", [("content-type", "application/json"), ("x-ms-request-id", "1"),
                                                 ("Accept", "a"), ("accept", "b")])
    assert request.method == "POST"
    assert request.headers["CONTENT-TYPE"] == request.headers.get("content-type") == "application/json"
    assert "X-MS-REQUEST-ID" in request.headers
    assert dict(request.headers) == {"Content-Type": "application/json", "X-Ms-Request-Id": "1", "Accept": "a,b"}
    assert request.headers.get("Missing", "d") == "d"


def test_request_paths_and_query():
    request = AMLRequest("GET", "/score", "k=1&k=2&x=%20y&empty=", [("Host", "dev:5001")])
    assert request.full_path == "/score?k=1&k=2&x=%20y&empty="
    assert request.url == "http://dev:5001/score?k=1&k=2&x=%20y&empty="
    assert request.args.getlist("k") == ["1", "2"] and request.args["k"] == "1"
    assert request.args.get("k", type=int) == 1 and request.args.get("x") == " y" and request.args["empty"] == ""
    assert AMLRequest("POST", "/score").full_path == "/score?"  # Werkzeug keeps the "?"
    with pytest.raises(KeyError):
        request.args["nope"]


def test_request_body_accessors():
    request = AMLRequest("POST", "/score", b"", {"Content-Type": "application/json; charset=utf-8"}, b'{"a": 1}')
    assert request.get_data() == request.data == b'{"a": 1}'
    assert request.get_data(as_text=True) == '{"a": 1}'
    assert request.get_json() == request.json == {"a": 1}
    assert request.is_json and request.mimetype == "application/json"
    assert request.mimetype_params == {"charset": "utf-8"}
    assert request.stream.read() == b'{"a": 1}'


def test_get_json_needs_a_json_content_type_unless_forced():
    request = AMLRequest("POST", "/score", b"", {"Content-Type": "text/plain"}, b"[1]")
    with pytest.raises(UnsupportedMediaType):
        request.get_json()
    assert request.get_json(silent=True) is None
    assert request.get_json(force=True) == [1]
    broken = AMLRequest("POST", "/score", b"", {"Content-Type": "application/json"}, b"{")
    with pytest.raises(BadRequest):
        broken.get_json()
    assert broken.get_json(silent=True) is None


def test_urlencoded_form():
    request = AMLRequest("POST", "/score", b"q=1", {"Content-Type": "application/x-www-form-urlencoded"},
                         b"a=1&b=x+y&a=2")
    assert request.form.getlist("a") == ["1", "2"] and request.form["b"] == "x y"
    assert request.values.getlist("q") == ["1"] and len(request.files) == 0


def test_uploaded_files_behave_like_werkzeug_filestorage(tmp_path):
    body = (b"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n"
            b"Content-Type: application/octet-stream\r\n\r\n\x00\x01\r\n\x02\r\n--XX--\r\n")
    request = AMLRequest("POST", "/score", b"", {"Content-Type": "multipart/form-data; boundary=XX"}, body)
    upload = request.files["f"]
    assert (upload.filename, upload.name, upload.mimetype) == ("a.bin", "f", "application/octet-stream")
    assert upload.read() == b"\x00\x01\r\n\x02"
    upload.seek(0)  # file methods go to the stream, as PIL.Image.open expects
    upload.save(tmp_path / "copy.bin")
    assert (tmp_path / "copy.bin").read_bytes() == b"\x00\x01\r\n\x02"
    upload.seek(0)
    sink = io.BytesIO()
    upload.save(sink)
    assert sink.getvalue() == b"\x00\x01\r\n\x02"


def test_response_body_and_content_type_defaults():
    assert AMLResponse(None, 200).get_data() == b"{}"
    assert AMLResponse(None, 200).content_type == "application/json"
    assert AMLResponse("héllo", 200).get_data() == "héllo".encode()
    assert AMLResponse("x", 200).content_type == "text/html; charset=utf-8"  # Flask's default
    assert AMLResponse({"a": [1]}, 400, json_str=True).get_json() == {"a": [1]}
    assert AMLResponse([b"a", "b"], 200).data == b"ab"
    with pytest.raises(TypeError, match="json_str"):
        AMLResponse(3.5, 200)


def test_response_headers():
    response = AMLResponse(b"x", 404, {"Content-Type": "image/png", "X-A": "1"})
    assert response.headers["content-type"] == "image/png" and len(response.headers.getlist("Content-Type")) == 1
    response.headers["X-A"] = "2"
    response.headers.add("Vary", "a")
    response.headers.add("Vary", "b")
    assert response.headers["x-a"] == "2" and response.headers.getlist("vary") == ["a", "b"]
    assert (response.status_code, response.status) == (404, "404 Not Found")
    assert response.headers["x-ms-run-function-failed"] == "False"
    response.data = "new"
    assert response.get_data(as_text=True) == "new"
    assert json.loads(AMLResponse([1], 200, json_str=True).get_data()) == [1]
