"""FIX 4.4 tags and code values used by the workstation (one place, named)."""

from __future__ import annotations

MSG_TYPE = 35
POSS_DUP = 43
POSS_RESEND = 97
MSG_SEQ_NUM = 34
BEGIN_SEQ_NO = 7
END_SEQ_NO = 16
NEW_SEQ_NO = 36
GAP_FILL = 123
SENDER_COMP_ID = 49
TARGET_COMP_ID = 56

ACCOUNT = 1
AVG_PX = 6
CL_ORD_ID = 11
CUM_QTY = 14
CURRENCY = 15
EXEC_ID = 17
HANDL_INST = 21
LAST_PX = 31
LAST_QTY = 32
ORDER_ID = 37
ORDER_QTY = 38
ORD_STATUS = 39
ORD_TYPE = 40
ORIG_CL_ORD_ID = 41
PRICE = 44
SIDE = 54
SYMBOL = 55
TEXT = 58
TIME_IN_FORCE = 59
TRANSACT_TIME = 60
CXL_REJ_REASON = 102
ORD_REJ_REASON = 103
EXEC_TYPE = 150
LEAVES_QTY = 151
SECURITY_EXCHANGE = 207
SETTL_TYPE = 63
SETTL_DATE = 64
SECURITY_TYPE = 167
CXL_REJ_RESPONSE_TO = 434
STOP_PX = 99
EXPIRE_TIME = 126
EXPIRE_DATE = 432
TARGET_STRATEGY = 847
TARGET_STRATEGY_PARAMETERS = 848
PARTICIPATION_RATE = 849
# Allocations (FIX 4.4 AllocationInstruction J, AllocationInstructionAck P, AllocationReport AS)
ALLOC_ID = 70
ALLOC_TRANS_TYPE = 71
REF_ALLOC_ID = 72
NO_ORDERS = 73
TRADE_DATE = 75
NO_ALLOCS = 78
ALLOC_ACCOUNT = 79
ALLOC_QTY = 80
ALLOC_STATUS = 87
ALLOC_REJ_CODE = 88
QUANTITY = 53
ALLOC_TYPE = 626
ALLOC_NO_ORDERS_TYPE = 857
ALLOC_REPORT_ID = 755
ALLOC_REPORT_TYPE = 794
INDIVIDUAL_ALLOC_REJ_CODE = 776
ALLOC_TEXT = 161
ORDER_AVG_PX = 799
# BusinessMessageReject (35=j)
REF_SEQ_NUM = 45
REF_MSG_TYPE = 372
BUSINESS_REJECT_REF_ID = 379
BUSINESS_REJECT_REASON = 380
USERNAME = 553
PASSWORD = 554

SIDE_CODE = {"buy": "1", "sell": "2"}
SIDE_NAME = {v: k for k, v in SIDE_CODE.items()}
ORD_TYPE_CODE = {"market": "1", "limit": "2", "stop": "3", "stop_limit": "4"}
ORD_TYPE_NAME = {v: k for k, v in ORD_TYPE_CODE.items()}
# FIX 4.4 retired OrdType 5 (market on close) and B (limit on close): its dictionary no longer lists
# them, and an on-close order is a market or limit order with TimeInForce 7 (At the Close).
ON_CLOSE_WIRE = {"market_on_close": ("1", "7"), "limit_on_close": ("2", "7")}
TIF_CODE = {
    "day": "0",
    "gtc": "1",
    "at_the_open": "2",
    "ioc": "3",
    "fok": "4",
    "gtd": "6",
    "at_the_close": "7",
}
TIF_NAME = {v: k for k, v in TIF_CODE.items()}
# FX spot in FIX 4.4: SecurityType FOR (Foreign Exchange Contract; FXSPOT exists only from FIX 5.0 SP1
# and fails the 4.4 dictionary), SettlType 0 (regular = spot value date).
SECURITY_TYPE_FX = "FOR"
SETTL_TYPE_REGULAR = "0"
ALLOC_TRANS_TYPE_CODE = {"new": "0", "replace": "1", "cancel": "2"}
ALLOC_TRANS_TYPE_NAME = {v: k for k, v in ALLOC_TRANS_TYPE_CODE.items()}
# AllocType 2 Preliminary: the buy side gives quantities per account at the average price, without
# fees or net money, which the executing broker calculates (its AllocationReport: AllocReportType 3,
# Sellside Calculated Using Preliminary). FIX 4.4's dictionary lists AllocType 1, 2, 5, 7, 8 only.
ALLOC_TYPE_PRELIMINARY = "2"
ALLOC_REPORT_SELLSIDE_USING_PRELIMINARY = "3"
ALLOC_NO_ORDERS_EXPLICIT = "1"
