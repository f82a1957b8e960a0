"""The UN Comtrade ``data/v1/get`` record: its 47 fields, and the ones tradeflow needs.

Field names and JSON types as served by ``comtradeapi.un.org`` (see the samples in
``shared/data/api_samples/comtrade``). The parser tolerates unknown extra fields and
rejects records missing any of :data:`REQUIRED_FIELDS`.
"""

from __future__ import annotations

#: All fields of a final-data record, in the order the API serves them, with DuckDB types.
RECORD_FIELDS: dict[str, str] = {
    "typeCode": "VARCHAR",
    "freqCode": "VARCHAR",
    "refPeriodId": "BIGINT",
    "refYear": "INTEGER",
    "refMonth": "INTEGER",
    "period": "VARCHAR",
    "reporterCode": "INTEGER",
    "reporterISO": "VARCHAR",
    "reporterDesc": "VARCHAR",
    "flowCode": "VARCHAR",
    "flowDesc": "VARCHAR",
    "partnerCode": "INTEGER",
    "partnerISO": "VARCHAR",
    "partnerDesc": "VARCHAR",
    "partner2Code": "INTEGER",
    "partner2ISO": "VARCHAR",
    "partner2Desc": "VARCHAR",
    "classificationCode": "VARCHAR",
    "classificationSearchCode": "VARCHAR",
    "isOriginalClassification": "BOOLEAN",
    "cmdCode": "VARCHAR",
    "cmdDesc": "VARCHAR",
    "aggrLevel": "INTEGER",
    "isLeaf": "BOOLEAN",
    "customsCode": "VARCHAR",
    "customsDesc": "VARCHAR",
    "mosCode": "VARCHAR",
    "motCode": "INTEGER",
    "motDesc": "VARCHAR",
    "qtyUnitCode": "INTEGER",
    "qtyUnitAbbr": "VARCHAR",
    "qty": "DOUBLE",
    "isQtyEstimated": "BOOLEAN",
    "altQtyUnitCode": "INTEGER",
    "altQtyUnitAbbr": "VARCHAR",
    "altQty": "DOUBLE",
    "isAltQtyEstimated": "BOOLEAN",
    "netWgt": "DOUBLE",
    "isNetWgtEstimated": "BOOLEAN",
    "grossWgt": "DOUBLE",
    "isGrossWgtEstimated": "BOOLEAN",
    "cifvalue": "DOUBLE",
    "fobvalue": "DOUBLE",
    "primaryValue": "DOUBLE",
    "legacyEstimationFlag": "INTEGER",
    "isReported": "BOOLEAN",
    "isAggregate": "BOOLEAN",
}

#: Fields every record must carry (values may be null where the API serves null).
REQUIRED_FIELDS: tuple[str, ...] = (
    "typeCode",
    "freqCode",
    "refYear",
    "refMonth",
    "period",
    "reporterCode",
    "flowCode",
    "partnerCode",
    "partner2Code",
    "classificationCode",
    "cmdCode",
    "aggrLevel",
    "customsCode",
    "motCode",
    "qtyUnitCode",
    "qty",
    "netWgt",
    "isNetWgtEstimated",
    "primaryValue",
)
