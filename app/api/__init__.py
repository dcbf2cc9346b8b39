"""HTTP interface: routes, request intake, schemas, problem details, auth and admission."""
