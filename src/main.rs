fn main(){ let _ = bollard::Docker::connect_with_defaults(); }
