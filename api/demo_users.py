"""The demo users of `motcua dev`, one per role (development only): the web interface's
development login lists them and `motcua dev` prints a token for each. Agency "centre"
stands for the configured centre (MOTCUA_CENTRE_AGENCY)."""

from __future__ import annotations

# (role, sub, agency, name)
DEMO_USERS = [
    ("applicant", "citizen-001", None, "Nguyễn Văn An"),
    ("intake_officer", "tnhs-01", "centre", "Trần Thị Bình"),
    ("specialist", "ca-cv-07", "000.00.20.H99", "Lê Văn Cường"),
    ("leader", "ca-ld-02", "000.00.20.H99", "Phạm Minh Đức"),
    ("signer", "ca-ky-01", "000.00.20.H99", "Hoàng Văn Em"),
    ("return_officer", "tkq-03", "centre", "Ngô Thị Phương"),
    ("auditor", "kt-01", None, "Đỗ Thanh Giang"),
    ("admin", "qt-01", None, "Vũ Quản Trị"),
]
