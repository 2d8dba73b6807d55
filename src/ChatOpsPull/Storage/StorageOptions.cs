using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Storage;

public enum DatabaseProvider
{
    /// <summary>Embedded file under Bot:DataDirectory. One replica.</summary>
    Sqlite,

    /// <summary>Shared server; several replicas.</summary>
    Postgres,
}

/// <summary>Section "Storage": where the bot's own state and the Hangfire queue live.</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string Section = "Storage";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>Npgsql connection string; required when Provider is Postgres.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>SQLite file name inside Bot:DataDirectory.</summary>
    public string SqliteFile { get; set; } = "chatopspull.db";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider == DatabaseProvider.Postgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult(
                "Storage:ConnectionString must be set when Storage:Provider is Postgres (e.g. \"Host=db;Database=chatopspull;Username=bot;Password=…\").",
                [nameof(ConnectionString)]);
        }
    }
}
