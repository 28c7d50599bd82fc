<?php
// Rotates the site's LTI 1.3 signing key as Moodle makes its first one: the key is forgotten and
// mod_lti's mod_lti_verify_private_key() makes a new RSA key with a new key id, which Moodle then
// signs its id_tokens with and serves alone at /mod/lti/certs.php. Prints {"old_kid", "kid"} as
// JSON. scripts/setup-moodle.sh rotate-key runs it (the e2e test of a platform's key rotation).
//
// Options: --config=PATH (Moodle's top-level config.php)

$opts = ['config' => ''];
foreach (array_slice($argv, 1) as $arg) {
    if (!preg_match('/^--([a-z]+)=(.*)$/s', $arg, $m) || !array_key_exists($m[1], $opts)) {
        fwrite(STDERR, "rotate_key.php: expected --config=PATH, got " . var_export($arg, true) . "\n");
        exit(2);
    }
    $opts[$m[1]] = $m[2];
}
if (!is_file($opts['config'])) {
    fwrite(STDERR, "rotate_key.php: --config must name Moodle's config.php\n");
    exit(2);
}

define('CLI_SCRIPT', true);
require($opts['config']);
require_once($CFG->dirroot . '/mod/lti/upgradelib.php');

$old = get_config('mod_lti', 'kid');
unset_config('privatekey', 'mod_lti');
$warning = mod_lti_verify_private_key();
$kid = get_config('mod_lti', 'kid');
if ($warning !== '' || $kid === $old || empty(get_config('mod_lti', 'privatekey'))) {
    fwrite(STDERR, "rotate_key.php: Moodle made no new key ($warning)\n");
    exit(1);
}
echo json_encode(['old_kid' => $old, 'kid' => $kid]), "\n";
