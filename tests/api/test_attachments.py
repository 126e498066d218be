"""Attachments and audio (contract §6.8): bytes uploaded before their comment."""
import hashlib
import io

import pytest

from reinfer_clone.services import attachments

from ..helpers import comment, error, make_dataset, make_project, make_source, make_user, ok, upload


@pytest.fixture
def source(admin):
    make_project(admin, "acme")
    return make_source(admin, "acme", "inbox")


def put_file(client, path, content: bytes, field="file"):
    return client.put(path, data={field: (io.BytesIO(content), "scan.pdf")},
                      content_type="multipart/form-data")


def attachment_path(source_id, comment_id, index=0):
    return f"/api/_private/sources/id:{source_id}/comments/{comment_id}/attachments/{index}"


def audio_path(source_id, comment_id):
    return f"/api/_private/sources/id:{source_id}/comments/{comment_id}/audio"


def download(client, ref):
    return client.get(f"/api/v1/attachments/{ref}")


def test_upload_before_the_comment_then_download(admin, source):
    sid = source["id"]
    pdf, png = b"%PDF-1.4 \x00\xff binary", b"\x89PNG\r\n"
    # The id holds a dot and a slash, as comment ids may.
    body = ok(put_file(admin, attachment_path(sid, "m.1%2Fa", 0), pdf))
    assert body == {"status": "ok", "content_hash": hashlib.sha256(pdf).hexdigest()}
    ok(put_file(admin, attachment_path(sid, "m.1%2Fa", 1), png))
    # Not readable until the comment it was uploaded for exists.
    error(download(admin, f"{sid}.m.1/a.0"), 404)
    meta = [{"name": "scan.pdf", "size": len(pdf), "content_type": "application/pdf",
             "content_hash": body["content_hash"]},
            {"name": "logo.png", "size": len(png), "content_type": "image/png"}]
    ok(upload(admin, [comment(1, id="m.1/a", attachments=meta)]))
    for index, expected in ((0, pdf), (1, png)):
        response = download(admin, f"{sid}.m.1%2Fa.{index}")
        assert response.status_code == 200
        assert response.mimetype == "application/octet-stream"
        assert response.get_data() == expected
    # Entries whose bytes exist carry the reference that downloads them.
    stored = ok(admin.get("/api/v1/sources/acme/inbox/comments/m.1%2Fa"))["comment"]
    assert stored["attachments"] == [{"attachment_reference": f"{sid}.m.1/a.{i}", **m} for i, m in enumerate(meta)]
    listed = ok(admin.get("/api/v1/sources/acme/inbox/comments"))["comments"]
    assert listed[0]["attachments"] == stored["attachments"]
    ref = stored["attachments"][1]["attachment_reference"]
    assert download(admin, ref.replace("/", "%2F")).get_data() == png
    # So do a dataset's reads (the web interface's Explore page lists them from the query route).
    make_dataset(admin, "acme", "triage", source_ids=[sid])
    queried = ok(admin.post("/api/_private/datasets/acme/triage/query", json={"filter": {}, "order": {"kind": "recent"}}))
    assert queried["results"][0]["comment"]["attachments"] == stored["attachments"]
    read = ok(admin.get("/api/_private/datasets/acme/triage/labellings", query_string={"id": stored["uid"]}))
    assert read["results"][0]["comment"]["attachments"] == stored["attachments"]


def test_reupload_replaces(admin, source):
    sid = source["id"]
    ok(put_file(admin, attachment_path(sid, "c-00001"), b"first"))
    second = ok(put_file(admin, attachment_path(sid, "c-00001"), b"second, longer"))
    assert second["content_hash"] == hashlib.sha256(b"second, longer").hexdigest()
    ok(upload(admin, [comment(1)]))
    assert download(admin, f"{sid}.c-00001.0").get_data() == b"second, longer"


def test_audio_is_accepted(admin, source):
    body = ok(put_file(admin, audio_path(source["id"], "c-00001"), b"RIFF....WAVE"))
    assert body == {"status": "ok"}
    assert "file" in error(admin.put(audio_path(source["id"], "c-00001"), data={},
                                     content_type="multipart/form-data"), 400)


def test_bad_input(admin, source, config):
    sid = source["id"]
    path = attachment_path(sid, "c-00001")
    message = error(put_file(admin, path, b"x", field="upload"), 400)
    assert "'file'" in message and message.startswith("file:")
    assert "file:" in error(admin.put(path, json={"file": "x"}), 400)
    assert error(put_file(admin, attachment_path(sid, "has%20space"), b"x"), 400).startswith("comment_id:")
    for index in (1024, -1, "x", "1.5", "٣"):
        assert error(put_file(admin, attachment_path(sid, "c-00001", index), b"x"), 400).startswith("index:")
    assert error(put_file(admin, audio_path(sid, "x" * 1025), b"x"), 400).startswith("comment_id:")
    too_big = b"x" * (config.max_content_length + 1)
    assert "too large" in error(put_file(admin, path, too_big), 413)
    # None of it was stored.
    ok(upload(admin, [comment(1)]))
    error(download(admin, f"{sid}.c-00001.0"), 404)
    error(download(admin, f"{sid}.c-00001.1024"), 404)


def test_not_found(admin, source):
    sid = source["id"]
    ok(upload(admin, [comment(1)]))
    error(put_file(admin, attachment_path("0123456789abcdef", "c-00001"), b"x"), 404)
    error(put_file(admin, audio_path("0123456789abcdef", "c-00001"), b"x"), 404)
    error(download(admin, f"{sid}.c-00001.0"), 404)  # never uploaded
    error(download(admin, "0123456789abcdef.c-00001.0"), 404)
    for malformed in ("nodots", f"{sid}.c-00001", f"{sid}.c-00001.x", ".c-00001.0"):
        error(download(admin, malformed), 404)


def test_permissions(app, admin, anon, source):
    sid = source["id"]
    ok(upload(admin, [comment(1)]))
    ok(put_file(admin, attachment_path(sid, "c-00001"), b"secret"))
    make_project(admin, "other")
    writer = make_user(app, "writer", projects={"acme": ["sources-add-comments"]})
    reader = make_user(app, "reader", projects={"acme": ["sources-read"]})
    outsider = make_user(app, "outsider", projects={"other": ["sources-read", "sources-add-comments"]})

    error(put_file(anon, attachment_path(sid, "c-00001"), b"x"), 401)
    error(put_file(anon, audio_path(sid, "c-00001"), b"x"), 401)
    error(download(anon, f"{sid}.c-00001.0"), 401)

    # A source of a project the caller has no code on answers like an unknown one.
    for client, status in ((reader, 403), (outsider, 404)):
        error(put_file(client, attachment_path(sid, "c-00001"), b"x"), status)
        error(put_file(client, audio_path(sid, "c-00001"), b"x"), status)
    for client, status in ((writer, 403), (outsider, 404)):
        error(download(client, f"{sid}.c-00001.0"), status)

    ok(put_file(writer, attachment_path(sid, "c-00001", 2), b"from writer"))
    ok(put_file(writer, audio_path(sid, "c-00001"), b"audio"))
    assert download(reader, f"{sid}.c-00001.0").get_data() == b"secret"
    assert download(reader, f"{sid}.c-00001.2").get_data() == b"from writer"


def test_stored_indexes_tell_which_entries_have_bytes(admin, source, session):
    """The lookup the Comment object needs to carry `attachment_reference`."""
    sid = source["id"]
    ok(put_file(admin, attachment_path(sid, "a.b", 0), b"0"))
    ok(put_file(admin, attachment_path(sid, "a.b", 3), b"3"))
    ok(put_file(admin, attachment_path(sid, "other", 1), b"1"))

    class Row:
        def __init__(self, external_id):
            self.source_id, self.external_id = sid, external_id

    found = attachments.stored_indexes(session, [Row("a.b"), Row("none")])
    assert found == {(sid, "a.b"): {0, 3}}
    assert attachments.reference(sid, "a.b", 3) == f"{sid}.a.b.3"
    assert attachments.parse_reference(f"{sid}.a.b.3") == (sid, "a.b", 3)
