namespace ChatOpsPull.Storage;

/// <summary>
/// One forward-only schema change, in both dialects. Ids sort in the order they apply ("0001-incidents").
/// Each capability registers its own with <c>services.AddSchemaMigrations(...)</c>.
/// </summary>
public sealed record SchemaMigration(string Id, string Sqlite, string Postgres);

/// <summary>A set of migrations registered in DI by a capability.</summary>
public sealed record SchemaMigrationSet(IReadOnlyList<SchemaMigration> Migrations);
