"""A token given in the query string never reaches the access log."""

import logging

from app.logging_filters import RedactTokens


def test_the_access_log_shows_the_path_without_the_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/api/v1/live?after=12&token=fabu_s3cret&x=1", "1.1", 101),
        None,
    )
    RedactTokens().filter(record)
    line = record.getMessage()
    assert "fabu_s3cret" not in line
    assert "/api/v1/live?after=12&token=[redacted]&x=1" in line
