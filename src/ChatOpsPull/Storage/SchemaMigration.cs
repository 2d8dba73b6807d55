namespace ChatOpsPull.Storage;

/// <summary>
/// One forward-only schema change. Ids sort in the order they apply ("0100-incidents"). Each capability registers its
/// own with <c>services.AddSchemaMigrations(...)</c>. Write the text once for both engines, with the placeholders
/// <c>{bigint}</c> and <c>{identity}</c> that <see cref="ISqlDialect.ExpandDdl"/> fills in:
/// <code>
/// new SchemaMigration("0700-widgets", """
///     CREATE TABLE widgets (id {identity}, name TEXT NOT NULL, seen_at {bigint} NOT NULL);
///     """);
/// </code>
/// </summary>
public sealed class SchemaMigration
{
    private readonly string? _ddl;
    private readonly string? _sqlite;
    private readonly string? _postgres;

    /// <summary>One text for both engines, with the dialect's placeholders.</summary>
    public SchemaMigration(string id, string ddl)
    {
        Id = id;
        _ddl = ddl;
    }

    /// <summary>
    /// One text per engine, used as written (no placeholders): the form from before <see cref="ISqlDialect"/>, still
    /// accepted so a migration not yet rewritten keeps working. New migrations use one text.
    /// </summary>
    public SchemaMigration(string id, string sqlite, string postgres)
    {
        Id = id;
        _sqlite = sqlite;
        _postgres = postgres;
    }

    public string Id { get; }

    /// <summary>
    /// Ids of earlier migrations this one consolidates. A database that has all of them (made before they were merged)
    /// does not run this migration's text: it runs <see cref="Upgrade"/>, and this id takes their place in
    /// <c>schema_migrations</c>. A database that has only some of them is refused with a sentence.
    /// </summary>
    public IReadOnlyList<string> Replaces { get; init; } = [];

    /// <summary>
    /// The statements that turn the schema of <see cref="Replaces"/> into the one this migration's text creates (run
    /// only on a database that has them); null when the two are the same.
    /// </summary>
    public Func<ISqlDialect, string>? Upgrade { get; init; }

    /// <summary>The statements this migration runs on a database of <paramref name="dialect"/>.</summary>
    public string TextFor(ISqlDialect dialect) =>
        _ddl is not null ? dialect.ExpandDdl(_ddl) : dialect.Provider == DatabaseProvider.Postgres ? _postgres! : _sqlite!;
}

/// <summary>A set of migrations registered in DI by a capability.</summary>
public sealed record SchemaMigrationSet(IReadOnlyList<SchemaMigration> Migrations);
