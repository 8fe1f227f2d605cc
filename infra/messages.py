"""Why an upload is refused for its content (infra/docstore.py), in Vietnamese and English
(domain/i18n.py): the API renders the reason in the caller's language."""

from __future__ import annotations

from domain.i18n import Catalogue

T = Catalogue(
    {
        "found": ("là tệp {kind}", "it is a {kind} file"),
        "unrecognised": (
            "không phải loại tệp nhận biết được theo nội dung",
            "not a type of file recognisable by its content",
        ),
        "unsupported": (
            "{found}; chỉ nhận các loại tệp: {names}",
            "{found}; only these types are accepted: {names}",
        ),
        "damaged": ("không phải tệp {kind} hợp lệ: {why}", "not a valid {kind} file: {why}"),
        "pdf_password": (
            "là tệp PDF có đặt mật khẩu; hãy gửi bản không đặt mật khẩu để cán bộ đọc được",
            "a password-protected PDF; send one without a password so that officers can read it",
        ),
        "pdf_unreadable": (
            "không đọc được cấu trúc của tệp (bảng tham chiếu, danh mục, các trang); tệp bị "
            "hỏng, không trọn vẹn hoặc chỉ có phần đầu giống PDF",
            "its structure (cross-references, catalogue, pages) cannot be read; the file is "
            "damaged, truncated, or only starts like a PDF",
        ),
        "pdf_no_pages": ("tệp không có trang nào", "the file has no page"),
        "tiff_pages": ("tệp TIFF có hơn {pages} trang", "a TIFF of more than {pages} pages"),
        "jpeg_scans": (
            "ảnh JPEG có hơn {scans} lượt quét (scan); hãy lưu lại ảnh bằng phần mềm khác",
            "a JPEG of more than {scans} scans; save the image again with other software",
        ),
        "pixels": (
            "ảnh quá giới hạn {limit} điểm ảnh; hãy gửi ảnh có độ phân giải thấp hơn",
            "the image is over {limit} pixels; send one of a lower resolution",
        ),
        "pixels_sized": (
            "ảnh {width} × {height} điểm ảnh quá giới hạn {limit} điểm ảnh; hãy gửi ảnh có độ "
            "phân giải thấp hơn",
            "an image of {width} × {height} pixels is over {limit} pixels; send one of a "
            "lower resolution",
        ),
        "image_damaged": (
            "ảnh bị hỏng hoặc không trọn vẹn",
            "the image is damaged or truncated",
        ),
        "xml_entities": (
            "tệp XML khai báo thực thể (ENTITY) hoặc tham chiếu tới tài nguyên bên ngoài; "
            "không nhận tệp như vậy",
            "an XML file declaring entities (ENTITY) or referring to outside resources; such "
            "files are not accepted",
        ),
        "xml_syntax": ("sai cú pháp ({error})", "bad syntax ({error})"),
        "zip_no_directory": (
            "không tìm thấy mục lục của tệp nén (tệp không trọn vẹn)",
            "the archive's directory is missing (the file is truncated)",
        ),
        "zip_entries": (
            "tệp {kind} có {entries} mục, quá {limit} mục",
            "a {kind} file of {entries} entries, over {limit}",
        ),
        "zip_directory_damaged": (
            "mục lục của tệp nén bị hỏng",
            "the archive's directory is damaged",
        ),
        "zip_unpacked": (
            "tệp {kind} khi giải nén ra {mb} MB, quá giới hạn {limit} MB",
            "a {kind} file that unpacks to {mb} MB, over the limit of {limit} MB",
        ),
        "ooxml_no_content_types": (
            "thiếu [Content_Types].xml của gói Office Open XML",
            "the Office Open XML package has no [Content_Types].xml",
        ),
        "zip_bad_name": ("tên mục không hợp lệ: {name}", "an invalid entry name: {name}"),
        "zip_overlap": (
            "các mục của tệp nén chồng lên nhau",
            "the archive's entries overlap",
        ),
        "zip_truncated": ("tệp nén không trọn vẹn", "the archive is truncated"),
        "zip_header_damaged": (
            "đầu mục của tệp nén bị hỏng",
            "an entry header of the archive is damaged",
        ),
        "zip_password": ("tệp nén có đặt mật khẩu", "the archive is password-protected"),
        "zip_not_deflate": (
            "mục nén theo cách không phải Deflate",
            "an entry compressed otherwise than with Deflate",
        ),
        "zip_entry_damaged": ("mục {entry} bị hỏng", "entry {entry} is damaged"),
        "zip_entry_mismatch": (
            "mục {entry} không khớp kích thước hoặc CRC ghi trong mục lục",
            "entry {entry} does not match the size or CRC its directory gives",
        ),
        "zip_larger": (
            "tệp {kind} khi giải nén lớn hơn kích thước ghi trong mục lục (mục {entry}); không "
            "nhận tệp như vậy",
            "a {kind} file that unpacks larger than its directory says (entry {entry}); such "
            "files are not accepted",
        ),
        "ooxml_dtd": (
            "tệp {kind} có khai báo DTD hoặc thực thể trong {entry}; gói Office Open XML không "
            "được có",
            "a {kind} file declaring a DTD or entities in {entry}; an Office Open XML package "
            "may not",
        ),
    },
    "upload",
)
