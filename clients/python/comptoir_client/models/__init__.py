"""Contains all the data models used in inputs/outputs"""

from .amc_contract_model import AmcContractModel
from .apcv_context_model import ApcvContextModel
from .apcv_ended_model import ApcvEndedModel
from .apcv_read_model import ApcvReadModel
from .apcv_read_model_source import ApcvReadModelSource
from .apcv_read_request import ApcvReadRequest
from .apcv_sign_request import ApcvSignRequest
from .apcv_signature_model import ApcvSignatureModel
from .audit_head_model import AuditHeadModel
from .audit_record_model import AuditRecordModel
from .audit_record_model_detail import AuditRecordModelDetail
from .audit_writer_model import AuditWriterModel
from .beneficiary_model import BeneficiaryModel
from .birth_date_model import BirthDateModel
from .card_info_model import CardInfoModel
from .certificate_model import CertificateModel
from .certificate_model_key import CertificateModelKey
from .certificate_status_model import CertificateStatusModel
from .client_model import ClientModel
from .client_model_role import ClientModelRole
from .cms_model import CmsModel
from .cms_request import CmsRequest
from .code_model import CodeModel
from .cps_holder_model import CpsHolderModel
from .cps_holder_response import CpsHolderResponse
from .cps_reader_model import CpsReaderModel
from .cps_reader_model_pin import CpsReaderModelPin
from .disk_model import DiskModel
from .disk_model_level import DiskModelLevel
from .dispensation_model import DispensationModel
from .dmp_existence_model import DmpExistenceModel
from .dmp_existence_request import DmpExistenceRequest
from .exemption_model import ExemptionModel
from .field_issue import FieldIssue
from .guard_alert_model import GuardAlertModel
from .guard_alert_model_reason import GuardAlertModelReason
from .ins_identifier_model import InsIdentifierModel
from .ins_search_model import InsSearchModel
from .ins_search_model_code import InsSearchModelCode
from .ins_search_model_mode import InsSearchModelMode
from .ins_search_request import InsSearchRequest
from .ins_search_request_mode_type_0 import InsSearchRequestModeType0
from .ins_traits_model import InsTraitsModel
from .insured_model import InsuredModel
from .key_role import KeyRole
from .lease_model import LeaseModel
from .nir_check_model import NirCheckModel
from .operator_model import OperatorModel
from .outcome import Outcome
from .pairing_code_model import PairingCodeModel
from .pairing_code_model_role import PairingCodeModelRole
from .pairing_request import PairingRequest
from .percentiles import Percentiles
from .problem_details import ProblemDetails
from .queue_model import QueueModel
from .raw_request import RawRequest
from .reader_detail_model import ReaderDetailModel
from .reader_detail_model_card_kind_type_0 import ReaderDetailModelCardKindType0
from .reader_model import ReaderModel
from .reader_model_card_kind_type_0 import ReaderModelCardKindType0
from .reader_status_model import ReaderStatusModel
from .reader_status_model_card_kind_type_0 import ReaderStatusModelCardKindType0
from .request_priority import RequestPriority
from .revoked_model import RevokedModel
from .rights_period_model import RightsPeriodModel
from .role import Role
from .scan_event_model import ScanEventModel
from .scan_event_model_type import ScanEventModelType
from .scan_model import ScanModel
from .scan_model_kind import ScanModelKind
from .scheme_model import SchemeModel
from .sign_request import SignRequest
from .signature_model import SignatureModel
from .situation_model import SituationModel
from .status_model import StatusModel
from .store_signature_model import StoreSignatureModel
from .terminal_status_model import TerminalStatusModel
from .traits_request import TraitsRequest
from .traits_request_sexe import TraitsRequestSexe
from .tries_left_model import TriesLeftModel
from .unlock_request import UnlockRequest
from .unlocked_model import UnlockedModel
from .vihf_request import VihfRequest
from .vitale_beneficiary import VitaleBeneficiary
from .vitale_read_model import VitaleReadModel
from .xml_model import XmlModel
from .xml_request import XmlRequest

__all__ = (
    "AmcContractModel",
    "ApcvContextModel",
    "ApcvEndedModel",
    "ApcvReadModel",
    "ApcvReadModelSource",
    "ApcvReadRequest",
    "ApcvSignRequest",
    "ApcvSignatureModel",
    "AuditHeadModel",
    "AuditRecordModel",
    "AuditRecordModelDetail",
    "AuditWriterModel",
    "BeneficiaryModel",
    "BirthDateModel",
    "CardInfoModel",
    "CertificateModel",
    "CertificateModelKey",
    "CertificateStatusModel",
    "ClientModel",
    "ClientModelRole",
    "CmsModel",
    "CmsRequest",
    "CodeModel",
    "CpsHolderModel",
    "CpsHolderResponse",
    "CpsReaderModel",
    "CpsReaderModelPin",
    "DiskModel",
    "DiskModelLevel",
    "DispensationModel",
    "DmpExistenceModel",
    "DmpExistenceRequest",
    "ExemptionModel",
    "FieldIssue",
    "GuardAlertModel",
    "GuardAlertModelReason",
    "InsIdentifierModel",
    "InsSearchModel",
    "InsSearchModelCode",
    "InsSearchModelMode",
    "InsSearchRequest",
    "InsSearchRequestModeType0",
    "InsTraitsModel",
    "InsuredModel",
    "KeyRole",
    "LeaseModel",
    "NirCheckModel",
    "OperatorModel",
    "Outcome",
    "PairingCodeModel",
    "PairingCodeModelRole",
    "PairingRequest",
    "Percentiles",
    "ProblemDetails",
    "QueueModel",
    "RawRequest",
    "ReaderDetailModel",
    "ReaderDetailModelCardKindType0",
    "ReaderModel",
    "ReaderModelCardKindType0",
    "ReaderStatusModel",
    "ReaderStatusModelCardKindType0",
    "RequestPriority",
    "RevokedModel",
    "RightsPeriodModel",
    "Role",
    "ScanEventModel",
    "ScanEventModelType",
    "ScanModel",
    "ScanModelKind",
    "SchemeModel",
    "SignRequest",
    "SignatureModel",
    "SituationModel",
    "StatusModel",
    "StoreSignatureModel",
    "TerminalStatusModel",
    "TraitsRequest",
    "TraitsRequestSexe",
    "TriesLeftModel",
    "UnlockRequest",
    "UnlockedModel",
    "VihfRequest",
    "VitaleBeneficiary",
    "VitaleReadModel",
    "XmlModel",
    "XmlRequest",
)
