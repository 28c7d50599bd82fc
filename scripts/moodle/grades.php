<?php
// The gradebook's grades of one LTI activity, read through Moodle's own grade API
// (grade_get_grades), printed as JSON {username: grade or null}: how the e2e tests see that grades
// sent by the hub reached Moodle. scripts/setup-moodle.sh grades --lti=ID runs it.
//
// Options: --config=PATH (Moodle's top-level config.php), --lti=ID (the lti instance id)

$opts = ['config' => '', 'lti' => ''];
foreach (array_slice($argv, 1) as $arg) {
    if (!preg_match('/^--([a-z]+)=(.*)$/s', $arg, $m) || !array_key_exists($m[1], $opts)) {
        fwrite(STDERR, "grades.php: expected --config=PATH --lti=ID, got " . var_export($arg, true) . "\n");
        exit(2);
    }
    $opts[$m[1]] = $m[2];
}
if (!is_file($opts['config']) || !ctype_digit($opts['lti'])) {
    fwrite(STDERR, "grades.php: --config must name Moodle's config.php and --lti an activity id\n");
    exit(2);
}

define('CLI_SCRIPT', true);
require($opts['config']);
require_once($CFG->libdir . '/gradelib.php');

$lti = $DB->get_record('lti', ['id' => (int)$opts['lti']], '*', MUST_EXIST);
$context = context_course::instance($lti->course);
$users = get_enrolled_users($context);
$grades = grade_get_grades($lti->course, 'mod', 'lti', $lti->id, array_keys($users));
$out = [];
$item = $grades->items[0] ?? null;
foreach ($users as $id => $user) {
    $grade = $item && isset($item->grades[$id]) ? $item->grades[$id]->grade : null;
    $out[$user->username] = $grade === null ? null : (float)$grade;
}
echo json_encode($out, JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
