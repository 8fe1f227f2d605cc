"""The demo users of `motcua dev`, one per role and a second specialist of the police, so
that a leader's assignment (phân công) chooses between two (development only): the web
interface's development login lists them and `motcua dev` prints a token for each. Agency
"centre" stands for the configured centre (MOTCUA_CENTRE_AGENCY)."""

from __future__ import annotations

# (role, sub, agency, name)
DEMO_USERS = [
    ("applicant", "citizen-001", None, "Nguyễn Văn An"),
    ("intake_officer", "tnhs-01", "centre", "Trần Thị Bình"),
    ("specialist", "ca-cv-07", "000.00.20.H99", "Lê Văn Cường"),
    ("specialist", "ca-cv-08", "000.00.20.H99", "Trần Thu Hà"),
    ("leader", "ca-ld-02", "000.00.20.H99", "Phạm Minh Đức"),
    ("signer", "ca-ky-01", "000.00.20.H99", "Hoàng Văn Em"),
    ("return_officer", "tkq-03", "centre", "Ngô Thị Phương"),
    # The centre's own leader: decides citizens' personal-data requests (/ui/du-lieu-ca-nhan).
    ("leader", "tt-ld-01", "centre", "Đinh Thị Lan"),
    # The commune centre of Hòa An: receives province procedures too (boundary-free
    # intake, Decree 118/2025) and returns their results.
    ("intake_officer", "tnhs-xa-01", "000.31.01.H99", "Lò Thị Hoa"),
    ("return_officer", "tkq-xa-01", "000.31.01.H99", "Nông Văn Khánh"),
    ("auditor", "kt-01", None, "Đỗ Thanh Giang"),
    ("admin", "qt-01", None, "Vũ Quản Trị"),
    ("catalog_admin", "dm-01", None, "Lý Thị Danh Mục"),
]
