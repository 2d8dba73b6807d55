namespace ChatOpsPull.Storage;

/// <summary>
/// One forward-only schema change. Ids sort in the order they apply ("0100-incidents"). Each capability registers its
/// own with <c>services.AddSchemaMigrations(...)</c>. The text is written once for both engines, with the placeholders
/// <c>{bigint}</c> and <c>{identity}</c> that <see cref="ISqlDialect.ExpandDdl"/> fills in:
/// <code>
/// new SchemaMigration("0700-widgets", """
///     CREATE TABLE widgets (id {identity}, name TEXT NOT NULL, seen_at {bigint} NOT NULL);
///     """);
/// </code>
/// </summary>
public sealed class SchemaMigration(string id, string ddl)
{
    public string Id { get; } = id;

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

    /// <summary>
    /// The one engine this migration's text is for (a storage setting only it has, such as a table's fillfactor); on the
    /// other it runs nothing and is recorded as applied. Null: both.
    /// </summary>
    public DatabaseProvider? OnlyOn { get; init; }

    /// <summary>The statements this migration runs on a database of <paramref name="dialect"/> (none when it is <see cref="OnlyOn"/> another engine).</summary>
    public string TextFor(ISqlDialect dialect) => OnlyOn is { } only && only != dialect.Provider ? string.Empty : dialect.ExpandDdl(ddl);
}

/// <summary>A set of migrations registered in DI by a capability.</summary>
public sealed record SchemaMigrationSet(IReadOnlyList<SchemaMigration> Migrations);
