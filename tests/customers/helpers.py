"""Small helpers of the API tests: JSON requests and a real picture."""

from __future__ import annotations

import io

from PIL import Image


def png(size=(8, 8), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def post_json(client, url, data, **headers):
    return client.post(url, data, content_type="application/json", **headers)


def patch_json(client, url, data, etag=None, **headers):
    if etag is not None:
        headers["HTTP_IF_MATCH"] = etag
    return client.patch(url, data, content_type="application/json", **headers)


def put_picture(client, url, content: bytes, name="face.png", content_type="image/png"):
    """PUT a multipart upload, as a till or web shop sends it."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    upload = SimpleUploadedFile(name, content, content_type=content_type)
    body = encode_multipart(BOUNDARY, {"picture": upload})
    return client.put(url, body, content_type=MULTIPART_CONTENT)
