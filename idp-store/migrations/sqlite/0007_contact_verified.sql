-- Whether the reserved mobile and email of an account were proven to belong to it, as the
-- phone_number_verified and email_verified claims say (OIDC Core §5.1). A mobile is proven by
-- an SMS code to it (registration, the console's change of mobile); an email never is yet.
-- Rows from before this migration stay unproven: nothing recorded how their mobile came in
-- (a legacy import or a seed did not prove it), and a claim must not say more than we know.
ALTER TABLE accounts ADD COLUMN mobile_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
