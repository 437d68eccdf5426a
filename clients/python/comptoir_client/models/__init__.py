"""Contains all the data models used in inputs/outputs"""

from .audit_rows_v1_admin_audit_get_response_200_item import (
    AuditRowsV1AdminAuditGetResponse200Item,
)
from .certificate_v1_cps_reader_certificates_key_get_response_certificate_v1_cps_reader_certificates_key_get import (
    CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet,
)
from .clients_v1_admin_clients_get_response_200_item import (
    ClientsV1AdminClientsGetResponse200Item,
)
from .cms_request import CmsRequest
from .code_model import CodeModel
from .get_reader_v1_readers_reader_get_response_get_reader_v1_readers_reader_get import (
    GetReaderV1ReadersReaderGetResponseGetReaderV1ReadersReaderGet,
)
from .holder_v1_cps_reader_get_response_holder_v1_cps_reader_get import (
    HolderV1CpsReaderGetResponseHolderV1CpsReaderGet,
)
from .http_validation_error import HTTPValidationError
from .key_role import KeyRole
from .list_cps_v1_cps_get_response_200_item import ListCpsV1CpsGetResponse200Item
from .list_readers_v1_readers_get_response_200_item import (
    ListReadersV1ReadersGetResponse200Item,
)
from .lock_v1_cps_reader_lock_post_response_lock_v1_cps_reader_lock_post import (
    LockV1CpsReaderLockPostResponseLockV1CpsReaderLockPost,
)
from .pairing_code_v1_admin_pairing_codes_post_response_pairing_code_v1_admin_pairing_codes_post import (
    PairingCodeV1AdminPairingCodesPostResponsePairingCodeV1AdminPairingCodesPost,
)
from .pairing_request import PairingRequest
from .raw_request import RawRequest
from .read_vitale_v1_vitale_reader_read_post_response_read_vitale_v1_vitale_reader_read_post import (
    ReadVitaleV1VitaleReaderReadPostResponseReadVitaleV1VitaleReaderReadPost,
)
from .revoke_v1_admin_clients_name_revoke_post_response_revoke_v1_admin_clients_name_revoke_post import (
    RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost,
)
from .role import Role
from .sign_cms_v1_store_sign_cms_post_response_sign_cms_v1_store_sign_cms_post import (
    SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost,
)
from .sign_raw_v1_store_sign_raw_post_response_sign_raw_v1_store_sign_raw_post import (
    SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost,
)
from .sign_request import SignRequest
from .sign_v1_cps_reader_sign_post_response_sign_v1_cps_reader_sign_post import (
    SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost,
)
from .sign_vihf_v1_store_sign_vihf_post_response_sign_vihf_v1_store_sign_vihf_post import (
    SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost,
)
from .sign_xml_v1_store_sign_xmldsig_post_response_sign_xml_v1_store_sign_xmldsig_post import (
    SignXmlV1StoreSignXmldsigPostResponseSignXmlV1StoreSignXmldsigPost,
)
from .status_v1_status_get_response_status_v1_status_get import (
    StatusV1StatusGetResponseStatusV1StatusGet,
)
from .tries_left_v1_cps_reader_tries_left_get_response_tries_left_v1_cps_reader_tries_left_get import (
    TriesLeftV1CpsReaderTriesLeftGetResponseTriesLeftV1CpsReaderTriesLeftGet,
)
from .unlock_request import UnlockRequest
from .unlock_v1_cps_reader_unlock_post_response_unlock_v1_cps_reader_unlock_post import (
    UnlockV1CpsReaderUnlockPostResponseUnlockV1CpsReaderUnlockPost,
)
from .validation_error import ValidationError
from .validation_error_context import ValidationErrorContext
from .vihf_request import VihfRequest
from .xml_request import XmlRequest

__all__ = (
    "AuditRowsV1AdminAuditGetResponse200Item",
    "CertificateV1CpsReaderCertificatesKeyGetResponseCertificateV1CpsReaderCertificatesKeyGet",
    "ClientsV1AdminClientsGetResponse200Item",
    "CmsRequest",
    "CodeModel",
    "GetReaderV1ReadersReaderGetResponseGetReaderV1ReadersReaderGet",
    "HTTPValidationError",
    "HolderV1CpsReaderGetResponseHolderV1CpsReaderGet",
    "KeyRole",
    "ListCpsV1CpsGetResponse200Item",
    "ListReadersV1ReadersGetResponse200Item",
    "LockV1CpsReaderLockPostResponseLockV1CpsReaderLockPost",
    "PairingCodeV1AdminPairingCodesPostResponsePairingCodeV1AdminPairingCodesPost",
    "PairingRequest",
    "RawRequest",
    "ReadVitaleV1VitaleReaderReadPostResponseReadVitaleV1VitaleReaderReadPost",
    "RevokeV1AdminClientsNameRevokePostResponseRevokeV1AdminClientsNameRevokePost",
    "Role",
    "SignCmsV1StoreSignCmsPostResponseSignCmsV1StoreSignCmsPost",
    "SignRawV1StoreSignRawPostResponseSignRawV1StoreSignRawPost",
    "SignRequest",
    "SignV1CpsReaderSignPostResponseSignV1CpsReaderSignPost",
    "SignVihfV1StoreSignVihfPostResponseSignVihfV1StoreSignVihfPost",
    "SignXmlV1StoreSignXmldsigPostResponseSignXmlV1StoreSignXmldsigPost",
    "StatusV1StatusGetResponseStatusV1StatusGet",
    "TriesLeftV1CpsReaderTriesLeftGetResponseTriesLeftV1CpsReaderTriesLeftGet",
    "UnlockRequest",
    "UnlockV1CpsReaderUnlockPostResponseUnlockV1CpsReaderUnlockPost",
    "ValidationError",
    "ValidationErrorContext",
    "VihfRequest",
    "XmlRequest",
)
