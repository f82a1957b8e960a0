-- raw.reference_hs: HS codes per classification (H5 = HS2017, H6 = HS2022) with descriptions:
-- UN Comtrade's reference lists when a live run archived them, else the sample's own codes.
SELECT classification, code, description, source FROM reference_hs_frame
