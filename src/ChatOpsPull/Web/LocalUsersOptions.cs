using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Web;

/// <summary>
/// Section "Web": local users for the bot's own page and the job dashboard. With no users, both are served only to
/// requests from the loopback address (the machine itself).
/// </summary>
public sealed class LocalUsersOptions : IValidatableObject
{
    public const string Section = "Web";

    /// <summary>Name and PBKDF2 hash (from <c>chatopspull hash-password</c>) of each person allowed in.</summary>
    public List<LocalUser> Users { get; set; } = [];

    /// <summary>Failed sign-ins for one name (or from one address) before it is locked out.</summary>
    [Range(1, 100, ErrorMessage = "Web:MaxFailedLogins must be between 1 and 100.")]
    public int MaxFailedLogins { get; set; } = 5;

    /// <summary>How long a name or address stays locked after too many failures; failures older than this are forgotten.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Web:LockoutDuration must be between 1 second and 1 day (e.g. \"00:05:00\").")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a sign-in lasts without activity.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "7.00:00:00", ErrorMessage = "Web:SessionLifetime must be between 5 minutes and 7 days.")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Users.Count; i++)
        {
            var user = Users[i];
            if (string.IsNullOrWhiteSpace(user.Name) || user.Name.Length > 64)
            {
                yield return new ValidationResult($"Web:Users:{i}:Name must be set (at most 64 characters).", [nameof(Users)]);
            }
            else if (!seen.Add(user.Name))
            {
                yield return new ValidationResult($"Web:Users:{i}:Name \"{user.Name}\" appears twice.", [nameof(Users)]);
            }

            if (!PasswordHash.IsWellFormed(user.PasswordHash))
            {
                yield return new ValidationResult(
                    $"Web:Users:{i}:PasswordHash is not a hash from 'chatopspull hash-password' (expected pbkdf2-sha256$iterations$salt$hash).",
                    [nameof(Users)]);
            }
        }
    }
}

public sealed class LocalUser
{
    public string Name { get; set; } = string.Empty;

    public string PasswordHash { get; set; } = string.Empty;
}
