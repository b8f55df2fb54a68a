-- A natural person's 性别 and 民族 from the identity form (issue 15 item 8c), sealed like the
-- ID number (PiiField::Gender / PiiField::Ethnicity): the GB/T 2261.1 and GB/T 3304 codes.
-- No lookup keys: nothing is ever found by them. NULL: not given (rows from before, quick
-- registration, or 民族 left out outside 中国大陆).
ALTER TABLE person_identities ADD COLUMN gender_sealed TEXT;
ALTER TABLE person_identities ADD COLUMN ethnicity_sealed TEXT;
