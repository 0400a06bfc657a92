mod fuzz;
mod policy;
mod samples;
