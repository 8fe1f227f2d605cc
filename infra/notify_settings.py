"""Settings of notification delivery (email over SMTP, SMS through a gateway), mixed into
`infra.settings.Settings`: read from MOTCUA_<FIELD> like every other setting and shown
by `motcua config`. Unset host or URL: that channel is off, its rows stay pending."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from domain.validation import Invalid
from infra.settings_messages import S


class NotificationSettings(BaseModel):
    smtp_host: str | None = Field(
        default=None,
        description="máy chủ SMTP gửi thư điện tử thông báo (không đặt: thư nằm chờ trong hộp thư "
        "đi)",
    )
    smtp_port: int | None = Field(
        default=None,
        gt=0,
        lt=65536,
        description="cổng SMTP (không đặt: 587 với starttls, 465 với ssl, 25 với none)",
    )
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="starttls (submission, cổng 587), ssl (TLS ngầm định, cổng 465) hoặc none "
        "(SMTP không mã hóa, cho relay trên mạng tin cậy)",
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="bộ CA (PEM) để kiểm tra chứng thư của máy chủ SMTP (không đặt: các CA gốc "
        "của hệ thống)",
    )
    smtp_user: str | None = Field(
        default=None, description="tài khoản đăng nhập SMTP (không đặt: không dùng AUTH)"
    )
    smtp_password: SecretStr | None = Field(default=None, description="mật khẩu SMTP")
    smtp_from: str = Field(
        default="Trung tâm Phục vụ hành chính công <khong-tra-loi@motcua.local>",
        description="From: của thư thông báo (tên hiển thị và địa chỉ)",
    )
    smtp_timeout_seconds: float = Field(default=30, gt=0, description="thời gian chờ kết nối SMTP")

    sms_gateway_url: str | None = Field(
        default=None,
        description="endpoint của cổng SMS brandname, nhận một tin nhắn JSON mỗi lần POST "
        "(services/notify/sms.py; không đặt: SMS nằm chờ trong hộp thư đi)",
    )
    sms_api_key: SecretStr | None = Field(default=None, description="khóa API của cổng SMS")
    sms_secret_key: SecretStr | None = Field(
        default=None, description="khóa bí mật của cổng SMS, nếu cổng có dùng"
    )
    sms_brandname: str = Field(
        default="MOTCUA",
        description="brandname đã đăng ký để gửi SMS (hiển thị là người gửi)",
    )
    sms_type: str = Field(
        default="2", description="loại tin của cổng SMS (2: chăm sóc khách hàng, CSKH)"
    )
    sms_unicode: bool = Field(
        default=False,
        description="gửi tiếng Việt có dấu (UCS-2, 70 ký tự một đoạn); false: không dấu (GSM-7, "
        "160), loại mà phần lớn hợp đồng brandname tính giá",
    )
    sms_max_segments: int = Field(
        default=2, ge=1, le=6, description="SMS dài nhất, tính bằng số đoạn; phần dài hơn bị cắt"
    )
    sms_timeout_seconds: float = Field(
        default=15, gt=0, description="thời gian chờ một yêu cầu tới cổng SMS"
    )

    notify_interval_seconds: float = Field(
        default=5, gt=0, description="bao lâu một lần worker của trung tâm tìm thông báo cần gửi"
    )
    notify_batch: int = Field(default=50, ge=1, description="số thông báo nhận xử lý mỗi vòng")
    notify_max_attempts: int = Field(
        default=6, ge=1, description="số lần thử trước khi bỏ một thông báo (failed)"
    )
    notify_backoff_seconds: float = Field(
        default=30,
        gt=0,
        description="thời gian chờ sau lần thử thất bại đầu tiên; gấp đôi sau mỗi lần",
    )
    notify_backoff_max_seconds: float = Field(
        default=3600, gt=0, description="thời gian chờ dài nhất giữa hai lần thử"
    )
    notify_max_age_hours: float = Field(
        default=72,
        ge=0,
        description="thông báo chưa thử lần nào và cũ hơn mức này bị bỏ, không gửi (tin đã cũ, ví "
        "dụ tồn đọng từ trước khi cấu hình kênh gửi); 0: không giới hạn; `motcua outbox retry` "
        "vẫn gửi nó",
    )
    notify_lease_seconds: float = Field(
        default=300,
        gt=0,
        description="thời gian một tiến trình gửi giữ các thông báo nó đã nhận; nếu tiến trình đó "
        "chết, sau thời gian này tiến trình khác nhận lại",
    )

    @field_validator("sms_gateway_url")
    @classmethod
    def _gateway_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise Invalid(S("not_http_url"))
        return value

    @model_validator(mode="after")
    def _delivery_consistent(self) -> NotificationSettings:
        if self.smtp_password is not None and not self.smtp_user:
            raise Invalid(S("set_without", name="MOTCUA_SMTP_PASSWORD", needs="MOTCUA_SMTP_USER"))
        if self.sms_gateway_url and self.sms_api_key is None:
            raise Invalid(
                S("set_without", name="MOTCUA_SMS_GATEWAY_URL", needs="MOTCUA_SMS_API_KEY")
            )
        return self

    @property
    def resolved_smtp_port(self) -> int:
        if self.smtp_port is not None:
            return self.smtp_port
        return {"starttls": 587, "ssl": 465, "none": 25}[self.smtp_security]
