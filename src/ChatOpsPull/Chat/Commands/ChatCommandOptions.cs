using System.ComponentModel.DataAnnotations;

namespace ChatOpsPull.Chat.Commands;

/// <summary>Section "Commands": what the chat commands show and which credentials <c>check</c> may use.</summary>
public sealed class ChatCommandOptions : IValidatableObject
{
    public const string Section = "Commands";

    /// <summary>
    /// A docker config file (<c>{"auths": …}</c>, e.g. a mounted kubernetes.io/dockerconfigjson secret) whose entries
    /// <c>check</c> uses for the registries they match, the way kubelet matches a pull secret. Empty: checks are anonymous.
    /// </summary>
    public string? CheckCredentialsFile { get; set; }

    /// <summary>Most open incidents listed by <c>status</c>.</summary>
    [Range(1, 50, ErrorMessage = "Commands:StatusIncidents must be between 1 and 50.")]
    public int StatusIncidents { get; set; } = 10;

    /// <summary>Most waiting approvals listed by <c>status</c>.</summary>
    [Range(1, 50, ErrorMessage = "Commands:StatusApprovals must be between 1 and 50.")]
    public int StatusApprovals { get; set; } = 10;

    /// <summary>Audit lines shown by <c>status</c>.</summary>
    [Range(0, 50, ErrorMessage = "Commands:StatusAuditLines must be between 0 and 50.")]
    public int StatusAuditLines { get; set; } = 5;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(CheckCredentialsFile) && !File.Exists(CheckCredentialsFile))
        {
            yield return new ValidationResult(
                $"Commands:CheckCredentialsFile names {CheckCredentialsFile}, which does not exist: mount the docker config there or leave the setting empty.",
                [nameof(CheckCredentialsFile)]);
        }
    }
}
