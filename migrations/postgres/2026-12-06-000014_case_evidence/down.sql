DROP TABLE case_evidence;
