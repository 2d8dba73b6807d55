namespace ChatOpsPull.Chat.Slack.BlockKit;

/// <summary>Block Kit limits as Slack documents them (block and composition object reference pages).</summary>
public static class BlockKitLimits
{
    public const int BlocksPerMessage = 50;
    public const int SectionText = 3000;
    public const int FieldsPerSection = 10;
    public const int FieldText = 2000;
    public const int HeaderText = 150;
    public const int ButtonText = 75;
    public const int ButtonValue = 2000;
    public const int ActionId = 255;
    public const int BlockId = 255;
    public const int ElementsPerActions = 25;
    public const int ContextElements = 10;
    public const int ContextText = 3000;
    public const int ConfirmTitle = 100;
    public const int ConfirmText = 300;
    public const int ConfirmButton = 30;

    /// <summary>
    /// Our own cap on the top-level notification text (Slack truncates message text far later, at 40,000 characters);
    /// a notification longer than this helps nobody.
    /// </summary>
    public const int FallbackText = 3000;
}
